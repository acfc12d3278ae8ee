# Baselines from neighbouring work (DeepHQ, RMPGC; docs/deephq.md, docs/rmpgc.md): each one
# model, trained once (no hierarchy, no rate points: its layers or target rates draw its curve),
# as a chain of phase jobs. A job starts from `init`: the codecs' shared base
# (`base/<codec>`) or another baseline job, taking the weights whose names and shapes match.

BASELINES = config.get("baselines") or {}
_RESERVED = set(CODECS) | {"base", "pretrain"}
if set(BASELINES) & _RESERVED:
    raise ValueError(f"baseline names {sorted(set(BASELINES) & _RESERVED)} clash with codec names, 'base' or 'pretrain'")


def baseline_models(evaluated_only=False):
    return [
        {"id": name, "codec": name, "hierarchy": None, "rate_point": None, "layers_are_rate_points": True}
        for name, spec in BASELINES.items()
        if spec["evaluate"] or not evaluated_only
    ]


def baseline_settings(name):
    spec = BASELINES[name]
    levels = len(spec["lambdas"])
    settings = {
        **{k: TRAIN[k] for k in ("batch_size", "view_scale", "aux_lr", "lr_milestones", "lr_decay", "grad_clip",
                                 "log_every", "workers", "device", "cache_images")},
        **VIEW_SETTINGS,
        "codec": spec["architecture"],
        "lambdas": spec["lambdas"],
        "mse_weights": spec["mse_weights"] or [1.0] * levels,
        "task_weights": [0.0] * levels,
        "classifier": None,
        "steps": spec["steps"],
        "lr": spec["lr"],
        "checkpoint_every": spec["checkpoint_every"],
        "trainable": spec["trainable"],
        "init_transfer": spec["init"] is not None,
        "seed": config["seed"],
    }
    return settings


def baseline_init(wildcards):
    init = BASELINES[wildcards.baseline]["init"]
    if init is None:
        return []
    if init.startswith("base/"):
        if init.split("/", 1)[1] not in CODECS:
            raise ValueError(f"baselines.{wildcards.baseline}.init: {init} names no codec (codecs: {sorted(CODECS)})")
        return f"results/checkpoints/{init}/model.pt"
    if init not in BASELINES:
        raise ValueError(f"baselines.{wildcards.baseline}.init: {init!r} is neither base/<codec> nor a baseline ({sorted(BASELINES)})")
    return f"results/checkpoints/{init}/model.pt"


rule train_baseline:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        init=baseline_init,
    output:
        model="results/checkpoints/{baseline}/model.pt",
        log="results/checkpoints/{baseline}/log.csv",
    params:
        settings=lambda w: as_json(baseline_settings(w.baseline)),
        init=lambda w, input: f"--init {input.init}" if input.init else "",
        launcher=train_launcher("finetune"),
    benchmark:
        "results/benchmarks/train/{baseline}.tsv"
    log:
        "results/logs/train/{baseline}.log",
    wildcard_constraints:
        baseline="|".join(BASELINES) or "none",
    threads: TRAIN["resources"]["finetune"]["threads"]
    resources:
        mem_mb=TRAIN["resources"]["finetune"]["mem_mb"],
        runtime=TRAIN["resources"]["finetune"]["runtime"],
        gpu=TRAIN["resources"]["finetune"]["gpus"],
    # A chain of phases (hyperprior -> deephq_steps -> deephq) is the longest path after the
    # warm-up: start its jobs before the fine-tunes, which are independent of each other.
    priority: 15
    shell:
        "{params.launcher} --settings {params.settings:q} --manifest {input.manifest} {params.init}"
        " --threads {threads} --output {output.model} --log-csv {output.log} > {log} 2>&1"
