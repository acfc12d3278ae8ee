# Training: one shared rate-distortion warm-up per codec architecture, then one fine-tune per
# (codec, hierarchy, rate point) that starts from it. A rate point multiplies every lambda.

TRAIN = config["train"]
CODECS = config["codecs"]


def train_hierarchies():
    """The hierarchies codecs train on: named in config, each one enabled in the hierarchy config."""
    names = list(TRAIN.get("hierarchies") or list(HIERARCHIES)[:1])
    unknown = [n for n in names if n not in HIERARCHIES]
    if unknown:
        raise ValueError(f"train.hierarchies names {unknown}, which config/hierarchy.yaml does not define "
                         f"(or has disabled); enabled hierarchies: {sorted(HIERARCHIES)}")
    return names


def warmup_name(codec):
    """Codecs with the same architecture share one warm-up, named after the first of them."""
    architecture = CODECS[codec]["architecture"]
    return next(name for name, spec in CODECS.items() if spec["architecture"] == architecture)


def _job_settings(architecture, rate_point, task_weights, steps, lr, checkpoint_every, classifier):
    keys = ("classifier_size", "label_smoothing", "task_levels", "mse_weights", "batch_size", "crop", "aux_lr",
            "lr_milestones", "lr_decay", "grad_clip", "log_every", "workers", "device", "cache_images")
    return {
        **{k: TRAIN[k] for k in keys},
        "codec": architecture,
        "lambdas": [lam * rate_point for lam in TRAIN["lambdas"]],
        "task_weights": task_weights,
        "steps": steps,
        "lr": lr,
        "checkpoint_every": checkpoint_every,
        "classifier": classifier,
        "seed": config["seed"],
    }


def warmup_settings(name):
    warm = TRAIN["warmup"]
    zeros = [0.0] * len(TRAIN["lambdas"])
    settings = _job_settings(CODECS[name]["architecture"], warm["rate_point"], zeros, warm["steps"], warm["lr"],
                             warm["checkpoint_every"], None)
    for unused in ("classifier_size", "label_smoothing", "task_levels"):  # no classifier in the warm-up
        del settings[unused]
    return settings


def finetune_settings(codec, rp):
    spec = CODECS[codec]
    settings = _job_settings(spec["architecture"], TRAIN["rate_points"][int(rp)], spec["task_weights"], TRAIN["steps"],
                             TRAIN["lr"], TRAIN["checkpoint_every"], TRAIN["classifier"])
    # only when set, so that configs without it keep their jobs' settings (and results) as they are
    if TRAIN.get("resize_shorter") is not None:
        settings["resize_shorter"] = TRAIN["resize_shorter"]
    return settings


def warmup_checkpoint(wildcards):
    if TRAIN["warmup"]["steps"] == 0:
        return []
    return f"results/checkpoints/warmup/{warmup_name(wildcards.codec)}/model.pt"


def train_launcher(kind):
    """One process, or torchrun with one process per GPU (DDP) when a rule asks for > 1 GPU."""
    gpus = TRAIN["resources"][kind]["gpus"]
    if gpus > 1:
        return f"{PY} -m torch.distributed.run --standalone --nproc_per_node {gpus} -m coarse2fine.training"
    return f"{PY} -m coarse2fine.training"


rule train_warmup:
    input:
        manifest=MANIFEST,
    output:
        model="results/checkpoints/warmup/{warmup}/model.pt",
        log="results/checkpoints/warmup/{warmup}/log.csv",
    params:
        settings=lambda w: as_json(warmup_settings(w.warmup)),
        launcher=train_launcher("warmup"),
    benchmark:
        "results/benchmarks/train/warmup_{warmup}.tsv"
    log:
        "results/logs/train/warmup_{warmup}.log",
    wildcard_constraints:
        warmup="|".join(CODECS) or "none",
    threads: TRAIN["resources"]["warmup"]["threads"]
    resources:
        mem_mb=TRAIN["resources"]["warmup"]["mem_mb"],
        runtime=TRAIN["resources"]["warmup"]["runtime"],
        gpu=TRAIN["resources"]["warmup"]["gpus"],
    # The warm-up heads the critical path: before everything, the hierarchy jobs included.
    priority: 30
    shell:
        "{params.launcher} --settings {params.settings:q} --manifest {input.manifest} --threads {threads}"
        " --output {output.model} --log-csv {output.log} > {log} 2>&1"


rule train_codec:
    input:
        manifest=MANIFEST,
        hierarchy="results/hierarchy/{hierarchy}/assignments.csv",
        init=warmup_checkpoint,
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
        for rp in range(len(TRAIN["rate_points"]))
    ]


def learned_models(evaluated_only=False):
    """Every trained model (codecs, then baselines), as dicts with `id` (checkpoint folder),
    `codec`, `hierarchy` (None: evaluated against every hierarchy), `rate_point` and
    `layers_are_rate_points` (a baseline's segments are rate points, not semantic levels)."""
    baselines = baseline_models(evaluated_only) if "baseline_models" in globals() else []
    return codec_models() + baselines


def train_targets():
    return [f"results/checkpoints/{m['id']}/{name}" for m in learned_models() for name in ("model.pt", "log.csv")]
