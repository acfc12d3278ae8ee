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
        model="results/checkpoints/pretrain/{base}/model.pt",
        log="results/checkpoints/pretrain/{base}/log.csv",
    params:
        settings=lambda w: as_json(TRAINING.base_settings(w.base)),
        launcher=TRAINING.launcher("base"),
    benchmark:
        "results/benchmarks/train/pretrain_{base}.tsv"
    log:
        "results/logs/train/pretrain_{base}.log",
    wildcard_constraints:
        base=CODEC_NAMES,
    threads: TRAINING.resources("base")["threads"]
    resources:
        # what Slurm is asked for (CPUs, memory, runtime, GPUs), whatever --cores the submit
        # host has (common.smk, cluster_resources)
        **training_resources("base"),
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
        model="results/checkpoints/base/{base}/model.pt",
        log="results/checkpoints/base/{base}/log.csv",
    params:
        settings=lambda w: as_json(TRAINING.base_settings(w.base)),
        source=TRAINING.train["base"]["source"],
    log:
        "results/logs/train/base_{base}.log",
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
        init="results/checkpoints/base/{base}/model.pt",
    output:
        model="results/checkpoints/adapt/{base}/model.pt",
        log="results/checkpoints/adapt/{base}/log.csv",
    params:
        settings=lambda w: as_json(TRAINING.adapt_settings(w.base)),
        launcher=TRAINING.launcher("base"),
    benchmark:
        "results/benchmarks/train/adapt_{base}.tsv"
    log:
        "results/logs/train/adapt_{base}.log",
    wildcard_constraints:
        base=CODEC_NAMES,
    threads: TRAINING.resources("base")["threads"]
    resources:
        # what Slurm is asked for (CPUs, memory, runtime, GPUs), whatever --cores the submit
        # host has (common.smk, cluster_resources)
        **training_resources("base"),
    priority: PRIORITY["base"]
    shell:
        "{params.launcher} train --settings {params.settings:q} --manifest {input.manifest} --init {input.init}"
        " --threads {threads} --output {output.model} --log-csv {output.log} > {log} 2>&1"


rule adapted_checkpoint:
    conda:
        CONDA_ENV
    input:
        unpack(lambda w: TRAINING.adapt_source(w.base)),
    output:
        model="results/checkpoints/adapted/{base}/model.pt",
        log="results/checkpoints/adapted/{base}/log.csv",
    params:
        settings=lambda w: as_json(TRAINING.adapt_settings(w.base)),
        source="shipped" if TRAINING.train["adapt"].get("source") == "shipped" else "scratch",
    log:
        "results/logs/train/adapted_{base}.log",
    wildcard_constraints:
        base=CODEC_NAMES,
    shell:
        "python -m coarse2fine.training install-base --source {params.source} --checkpoint {input.model}"
        " --settings {params.settings:q} --output {output.model} > {log} 2>&1 && cp {input.log} {output.log}"


# A fine-tune of a codec whose loss reads the hierarchy: one per (codec, hierarchy, rate point).
rule train_codec:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        hierarchy="results/hierarchy/{hierarchy}/assignments.csv",
        init=lambda w: TRAINING.base_checkpoint(w.codec) or [],
    output:
        model="results/checkpoints/{codec}/{hierarchy}/rp{rp}/model.pt",
        log="results/checkpoints/{codec}/{hierarchy}/rp{rp}/log.csv",
    params:
        settings=lambda w: as_json(TRAINING.finetune_settings(w.codec, w.rp)),
        init=lambda w, input: f"--init {input.init}" if input.init else "",
        hierarchy=lambda w, input: f"--hierarchy {input.hierarchy}",
        launcher=TRAINING.launcher("finetune"),
    benchmark:
        "results/benchmarks/train/{codec}/{hierarchy}/rp{rp}.tsv"
    log:
        "results/logs/train/{codec}_{hierarchy}_rp{rp}.log",
    wildcard_constraints:
        codec=alternatives(TRAINING.codecs_reading_hierarchy()),
        rp=r"\d+",
    threads: TRAINING.resources("finetune")["threads"]
    resources:
        # what Slurm is asked for (CPUs, memory, runtime, GPUs), whatever --cores the submit
        # host has (common.smk, cluster_resources)
        **training_resources("finetune"),
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
        model="results/checkpoints/{codec}/rp{rp}/model.pt",
        log="results/checkpoints/{codec}/rp{rp}/log.csv",
    params:
        hierarchy="",
    benchmark:
        "results/benchmarks/train/{codec}/rp{rp}.tsv"
    log:
        "results/logs/train/{codec}_rp{rp}.log",
    wildcard_constraints:
        codec=alternatives(TRAINING.codecs_reading_hierarchy(reads=False)),
        rp=r"\d+",
