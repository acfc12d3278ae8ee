# Training (PLAN.training): one rate-distortion base per codec architecture (pretrained by
# `pretrain_base`, or the shipped one that `dvc pull` fetches: train.base.source), then one
# fine-tune per (codec, hierarchy, rate point) that starts from it.
TRAINING = PLAN.training


# Trains a base from scratch (hours on CPU; resumes after a kill). Its output is never the
# fine-tunes' input directly: `base_checkpoint` takes the shipped or this one (train.base.source).
rule pretrain_base:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
    output:
        **paths.checkpoint_files(paths.base_id("pretrain")),
    params:
        settings=lambda w: as_json(TRAINING.base_settings(w.base)),
        launcher=TRAINING.launcher("base"),
    benchmark:
        paths.benchmark("train", "pretrain_{base}")
    log:
        paths.log("train", "pretrain_{base}"),
    wildcard_constraints:
        base=CODEC_NAMES,
    threads: PLAN.threads("base")
    resources:
        **PLAN.resources("base"),
    priority: PRIORITY["base"]
    shell:
        "{params.launcher} train --settings {params.settings:q} --manifest {input.manifest} --threads {threads}"
        " --output {output.model} --log-csv {output.log} > {log} 2>&1"


rule base_checkpoint:
    conda:
        CONDA_ENV
    input:
        unpack(lambda w: TRAINING.base_source(w.base)),
    output:
        **paths.checkpoint_files(paths.base_id("base")),
    params:
        settings=lambda w: as_json(TRAINING.base_settings(w.base)),
        source=TRAINING.train["base"]["source"],
    log:
        paths.log("train", "base_{base}"),
    wildcard_constraints:
        base=CODEC_NAMES,
    shell:
        "python -m coarse2fine.training install-base --source {params.source} --checkpoint {input.model}"
        " --settings {params.settings:q} --output {output.model} > {log} 2>&1 && cp {input.log} {output.log}"


# The base moved to the study's operating point (train.adapt, docs/operating-point.md): the
# rate-distortion job at train.lambdas that every fine-tune of this architecture starts from.
# Like the base, its output is not the fine-tunes' input: `adapted_checkpoint` takes the shipped
# one or this one (train.adapt.source), checked against the settings.
rule adapt_base:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        init=paths.checkpoint(paths.base_id("base")),
    output:
        **paths.checkpoint_files(paths.base_id("adapt")),
    params:
        settings=lambda w: as_json(TRAINING.adapt_settings(w.base)),
        launcher=TRAINING.launcher("base"),
    benchmark:
        paths.benchmark("train", "adapt_{base}")
    log:
        paths.log("train", "adapt_{base}"),
    wildcard_constraints:
        base=CODEC_NAMES,
    threads: PLAN.threads("base")
    resources:
        **PLAN.resources("base"),
    priority: PRIORITY["base"]
    shell:
        "{params.launcher} train --settings {params.settings:q} --manifest {input.manifest} --init {input.init}"
        " --threads {threads} --output {output.model} --log-csv {output.log} > {log} 2>&1"


# Installed like the base: the shipped adapted base or the one `adapt_base` trained.
use rule base_checkpoint as adapted_checkpoint with:
    input:
        unpack(lambda w: TRAINING.adapt_source(w.base)),
    output:
        **paths.checkpoint_files(paths.base_id("adapted")),
    params:
        settings=lambda w: as_json(TRAINING.adapt_settings(w.base)),
        source="shipped" if TRAINING.train["adapt"].get("source") == "shipped" else "scratch",
    log:
        paths.log("train", "adapted_{base}"),


# A fine-tune of a codec whose loss reads the hierarchy: one per (codec, hierarchy, rate point).
rule train_codec:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        hierarchy=paths.assignments(),
        init=lambda w: TRAINING.base_checkpoint(w.codec) or [],
    output:
        **paths.checkpoint_files(paths.finetune_id()),
    params:
        settings=lambda w: as_json(TRAINING.finetune_settings(w.codec, w.rp)),
        init=lambda w, input: f"--init {input.init}" if input.init else "",
        hierarchy=lambda w, input: f"--hierarchy {input.hierarchy}",
        launcher=TRAINING.launcher("finetune"),
    benchmark:
        paths.benchmark("train", paths.finetune_id())
    log:
        paths.log("train", "{codec}_{hierarchy}_rp{rp}"),
    wildcard_constraints:
        codec=alternatives(TRAINING.codecs_reading_hierarchy()),
        rp=r"\d+",
    threads: PLAN.threads("finetune")
    resources:
        **PLAN.resources("finetune"),
    priority: PRIORITY["training_chain"]
    shell:
        "{params.launcher} train --settings {params.settings:q} --manifest {input.manifest} {params.hierarchy}"
        " {params.init} --threads {threads} --output {output.model} --log-csv {output.log} > {log} 2>&1"


# A codec whose loss reads no hierarchy (rd_only: no task term): trained once per rate point,
# whatever train.hierarchies says, so switching hierarchy retrains nothing of it.
use rule train_codec as train_codec_without_hierarchy with:
    input:
        manifest=MANIFEST,
        init=lambda w: TRAINING.base_checkpoint(w.codec) or [],
    output:
        **paths.checkpoint_files(paths.finetune_id(hierarchy=None)),
    params:
        hierarchy="",
    benchmark:
        paths.benchmark("train", paths.finetune_id(hierarchy=None))
    log:
        paths.log("train", "{codec}_rp{rp}"),
    wildcard_constraints:
        codec=alternatives(TRAINING.codecs_reading_hierarchy(reads=False)),
        rp=r"\d+",
