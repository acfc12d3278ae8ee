# Baselines from neighbouring work (DeepHQ, RMPGC; docs/deephq.md, docs/rmpgc.md): each one
# model, trained once (no hierarchy, no rate points: its layers or target rates draw its curve),
# as a chain of phase jobs. A job starts from `init`: the codecs' shared base
# (`base/<codec>`) or another baseline job, taking the weights whose names and shapes match.


rule train_baseline:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        init=lambda w: PLAN.training.baseline_init(w.baseline) or [],
    output:
        **paths.checkpoint_files("{baseline}"),
    params:
        settings=lambda w: as_json(PLAN.training.baseline_settings(w.baseline)),
        init=lambda w, input: f"--init {input.init}" if input.init else "",
        launcher=PLAN.training.launcher("finetune"),
    benchmark:
        paths.benchmark("train", "{baseline}")
    log:
        paths.log("train", "{baseline}"),
    wildcard_constraints:
        baseline=alternatives(PLAN.training.trained_baselines()),
    threads: PLAN.threads("finetune")
    resources:
        **PLAN.resources("finetune"),
    priority: PRIORITY["baseline_chain"]
    shell:
        "{params.launcher} train --settings {params.settings:q} --manifest {input.manifest} {params.init}"
        " --threads {threads} --output {output.model} --log-csv {output.log} > {log} 2>&1"


# A baseline trained once with longer phases than the embedded default's budget allows, shipped
# like the base (baselines.<job>.source: shipped; models/baselines/<job>/, `make pull-models`):
# installed after checking it was trained with exactly the job's settings; its chain never runs.
rule baseline_checkpoint:
    conda:
        CONDA_ENV
    input:
        unpack(lambda w: PLAN.training.shipped_baseline_source(w.baseline)),
    output:
        **paths.checkpoint_files("{baseline}"),
    params:
        settings=lambda w: as_json(PLAN.training.baseline_settings(w.baseline)),
        retrain=lambda w: f"baselines.{w.baseline}.source: train",
    log:
        paths.log("train", "{baseline}"),
    wildcard_constraints:
        baseline=alternatives(PLAN.training.shipped_baselines()),
    shell:
        "python -m coarse2fine.training install-base --source shipped --checkpoint {input.model}"
        " --settings {params.settings:q} --output {output.model} --retrain {params.retrain:q} > {log} 2>&1"
        " && cp {input.log} {output.log}"
