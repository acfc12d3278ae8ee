# Training: one rate-distortion base per codec architecture (pretrained by `pretrain_base`, or
# the shipped one that `dvc pull` fetches: train.base.source), then one fine-tune per (codec,
# hierarchy, rate point) that starts from it. A rate point multiplies every lambda.

TRAIN = config["train"]
# CODECS (the enabled codecs) is defined in common.smk: evaluate.smk reads it too.


def train_hierarchies():
    """The hierarchies codecs train on: named in config, each one enabled in the hierarchy config."""
    names = list(TRAIN.get("hierarchies") or list(HIERARCHIES)[:1])
    unknown = [n for n in names if n not in HIERARCHIES]
    if unknown:
        raise ValueError(f"train.hierarchies names {unknown}, which config/hierarchy.yaml does not define "
                         f"(or has disabled); enabled hierarchies: {sorted(HIERARCHIES)}")
    return names


def base_name(codec):
    """Codecs with the same architecture share one base, named after the first of them."""
    architecture = CODECS[codec]["architecture"]
    return next(name for name, spec in CODECS.items() if spec["architecture"] == architecture)


def _job_settings(architecture, rate_point, task_weights, steps, lr, checkpoint_every, classifier):
    keys = ("classifier_size", "label_smoothing", "task_levels", "mse_weights", "batch_size", "view_scale", "aux_lr",
            "lr_milestones", "lr_decay", "grad_clip", "log_every", "workers", "device", "cache_images")
    return {
        **{k: TRAIN[k] for k in keys},
        **VIEW_SETTINGS,
        "codec": architecture,
        "lambdas": [lam * rate_point for lam in TRAIN["lambdas"]],
        "task_weights": task_weights,
        "steps": steps,
        "lr": lr,
        "checkpoint_every": checkpoint_every,
        "classifier": classifier,
        "seed": config["seed"],
    }


def base_settings(name):
    base = TRAIN["base"]
    zeros = [0.0] * len(TRAIN["lambdas"])
    settings = _job_settings(CODECS[name]["architecture"], base["rate_point"], zeros, base["steps"], base["lr"],
                             base["checkpoint_every"], None)
    for unused in ("classifier_size", "label_smoothing", "task_levels"):  # no classifier in the base
        del settings[unused]
    # rate-distortion needs no labels: every training photo, with its own augmentation range
    return settings | {"view_scale": base["view_scale"], "labelled_only": False, "batch_size": base["batch_size"]}


def finetune_settings(codec, rp):
    spec = CODECS[codec]
    settings = _job_settings(spec["architecture"], TRAIN["rate_points"][int(rp)], spec["task_weights"], TRAIN["steps"],
                             TRAIN["lr"], TRAIN["checkpoint_every"], TRAIN["classifier"])
    if spec.get("task_levels"):
        settings["task_levels"] = spec["task_levels"]
    # only when it departs from the paper, so the other codecs' settings (and results) stay
    if spec.get("task_gradient", "all") != "all":
        settings["task_gradient"] = spec["task_gradient"]
    return settings


def base_checkpoint(wildcards):
    if TRAIN["base"]["source"] == "none":
        return []
    return f"results/checkpoints/base/{base_name(wildcards.codec)}/model.pt"


def train_launcher(kind):
    """One process, or torchrun with one process per GPU (DDP) when a rule asks for > 1 GPU."""
    gpus = TRAIN["resources"][kind]["gpus"]
    if gpus > 1:
        return f"python -m torch.distributed.run --standalone --nproc_per_node {gpus} -m coarse2fine.training"
    return "python -m coarse2fine.training"


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
        settings=lambda w: as_json(base_settings(w.base)),
        launcher=train_launcher("base"),
    benchmark:
        "results/benchmarks/train/pretrain_{base}.tsv"
    log:
        "results/logs/train/pretrain_{base}.log",
    wildcard_constraints:
        base="|".join(CODECS) or "none",
    threads: TRAIN["resources"]["base"]["threads"]
    resources:
        mem_mb=TRAIN["resources"]["base"]["mem_mb"],
        runtime=TRAIN["resources"]["base"]["runtime"],
        gpu=TRAIN["resources"]["base"]["gpus"],
    # The base heads the critical path: before everything, the hierarchy jobs included.
    priority: 30
    shell:
        "{params.launcher} --settings {params.settings:q} --manifest {input.manifest} --threads {threads}"
        " --output {output.model} --log-csv {output.log} > {log} 2>&1"


def base_source(wildcards):
    """The shipped base (DVC-tracked, with its training log in git) or the one pretrained here."""
    if TRAIN["base"]["source"] == "shipped":
        folder = f"models/base/{wildcards.base}"
        if not Path(folder, "model.pt").exists():
            raise ValueError(f"{folder}/model.pt is missing: the shipped base comes with the repository through DVC; "
                             f"run `make pull-models` (dvc pull {folder}/model.pt.dvc), or set train.base.source: scratch")
    else:
        folder = f"results/checkpoints/pretrain/{wildcards.base}"
    return {"model": f"{folder}/model.pt", "log": f"{folder}/log.csv"}


rule base_checkpoint:
    conda:
        CONDA_ENV
    input:
        unpack(base_source),
    output:
        model="results/checkpoints/base/{base}/model.pt",
        log="results/checkpoints/base/{base}/log.csv",
    params:
        settings=lambda w: as_json(base_settings(w.base)),
        source=TRAIN["base"]["source"],
    log:
        "results/logs/train/base_{base}.log",
    wildcard_constraints:
        base="|".join(CODECS) or "none",
    shell:
        "python -m coarse2fine.training.base install --source {params.source} --checkpoint {input.model}"
        " --settings {params.settings:q} --output {output.model} > {log} 2>&1 && cp {input.log} {output.log}"


rule train_codec:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        hierarchy="results/hierarchy/{hierarchy}/assignments.csv",
        init=base_checkpoint,
    output:
        model="results/checkpoints/{codec}/{hierarchy}/rp{rp}/model.pt",
        log="results/checkpoints/{codec}/{hierarchy}/rp{rp}/log.csv",
    params:
        settings=lambda w: as_json(finetune_settings(w.codec, w.rp)),
        init=lambda w, input: f"--init {input.init}" if input.init else "",
        launcher=train_launcher("finetune"),
    benchmark:
        "results/benchmarks/train/{codec}/{hierarchy}/rp{rp}.tsv"
    log:
        "results/logs/train/{codec}_{hierarchy}_rp{rp}.log",
    wildcard_constraints:
        codec="|".join(CODECS) or "none",
        rp=r"\d+",
    threads: TRAIN["resources"]["finetune"]["threads"]
    resources:
        mem_mb=TRAIN["resources"]["finetune"]["mem_mb"],
        runtime=TRAIN["resources"]["finetune"]["runtime"],
        gpu=TRAIN["resources"]["finetune"]["gpus"],
    # The training chain is the critical path: start it before anything that can wait.
    priority: 10
    shell:
        "{params.launcher} --settings {params.settings:q} --manifest {input.manifest} --hierarchy {input.hierarchy}"
        " {params.init} --threads {threads} --output {output.model} --log-csv {output.log} > {log} 2>&1"


def codec_models():
    """One model per (codec, hierarchy, rate point): its id is its folder under results/checkpoints."""
    return [
        {"id": f"{codec}/{hierarchy}/rp{rp}", "codec": codec, "hierarchy": hierarchy, "rate_point": f"rp{rp}",
         "layers_are_rate_points": False}
        for codec in CODECS
        for hierarchy in train_hierarchies()
        for rp in codec_rate_points(codec)
    ]


def codec_rate_points(codec):
    """Indices into train.rate_points this codec trains at (all unless the codec names some)."""
    chosen = CODECS[codec].get("rate_points")
    every = range(len(TRAIN["rate_points"]))
    if chosen is None:
        return list(every)
    if any(i not in every for i in chosen):
        raise ValueError(f"codecs.{codec}.rate_points {chosen}: indices into train.rate_points, 0..{len(every) - 1}")
    return list(chosen)


def base_models():
    """The rate-distortion base of each architecture, coded and evaluated like a baseline (its
    prefixes are its rate points): the reference the fine-tunes are measured against."""
    if TRAIN["base"]["source"] == "none":
        return []
    names = sorted({base_name(codec) for codec in CODECS})
    return [{"id": f"base/{name}", "codec": "base" if len(names) == 1 else f"base_{name}", "hierarchy": None,
             "rate_point": None, "layers_are_rate_points": True} for name in names]


def learned_models(evaluated_only=False):
    """Every trained model (codecs, then baselines, then the base), as dicts with `id`
    (checkpoint folder), `codec`, `hierarchy` (None: evaluated against every hierarchy),
    `rate_point` and `layers_are_rate_points` (a baseline's segments are rate points, not
    semantic levels)."""
    baselines = baseline_models(evaluated_only) if "baseline_models" in globals() else []
    return codec_models() + baselines + base_models()


def train_targets():
    return [f"results/checkpoints/{m['id']}/{name}" for m in learned_models() for name in ("model.pt", "log.csv")]
