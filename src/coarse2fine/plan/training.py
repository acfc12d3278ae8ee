"""The training stage's part of the plan: the models, each training job's settings, the bases.

One rate-distortion base per codec architecture (pretrained here, or the shipped one), one
fine-tune per (codec, hierarchy, rate point) that starts from it (a rate point multiplies every
lambda), and the baselines: each one model trained as a chain of phase jobs (docs/deephq.md,
docs/rmpgc.md). Settings are what the job's command line carries: a change reruns exactly the
jobs it touches.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

from coarse2fine.training.settings import TrainSettings

from . import paths
from .models import Model

# what a job's settings are made of: every field of TrainSettings, read from the config under
# the same name (train.*, a codec's or a baseline's own entry); nothing is listed twice
SETTING_FIELDS = frozenset(f.name for f in fields(TrainSettings))
# checkpoint folders that are not models of a codec or baseline
RESERVED_NAMES = {"base", "pretrain", "adapt", "adapted"}


class TrainingPlan:
    def __init__(self, config: dict, hierarchies):
        self.seed = config["seed"]
        self.train = config["train"]
        self.view = {"view": config["view"]["size"], "classifier_crop": config["view"]["classifier_crop"]}
        self.hierarchies = hierarchies
        # codecs to train and evaluate; a defined codec may be disabled (the diagnostic variants)
        self.codecs = {name: spec for name, spec in config.get("codecs", {}).items() if spec.get("enabled", True)}
        self.baselines = config.get("baselines") or {}
        clash = set(self.baselines) & (set(self.codecs) | RESERVED_NAMES)
        if clash:
            raise ValueError(f"baseline names {sorted(clash)} clash with codec names, 'base' or 'pretrain'")
        for name in self.baselines:
            self.baseline_init(name)  # a wrong init names itself now, not when its job is planned
        defined = config.get("codecs", {})
        for codec, spec in self.codecs.items():
            self.rate_points(codec)
            self.base_name(codec)
            if spec.get("ablation") is not None and spec["ablation"] not in defined:
                raise ValueError(
                    f"codecs.{codec}.ablation: {spec['ablation']!r} is not a codec of this configuration "
                    f"(codecs: {sorted(defined)})"
                )

    # -- which hierarchies, bases and models -------------------------------------------------
    def train_hierarchies(self) -> list[str]:
        """The hierarchies codecs train on: named in config, each one enabled."""
        enabled = self.hierarchies.enabled
        names = list(self.train.get("hierarchies") or list(enabled)[:1])
        unknown = [n for n in names if n not in enabled]
        if unknown:
            raise ValueError(
                f"train.hierarchies names {unknown}, which {self.hierarchies.config_file} does not define "
                f"(or has disabled); enabled hierarchies: {sorted(enabled)}"
            )
        return names

    def base_name(self, codec: str) -> str:
        """Codecs with the same architecture share one base, named after the first of them. A
        codec may name another codec whose base it starts from (`base`): the weights they share
        are transferred, the parts the base lacks start at their initialisation."""
        other = self.codecs[codec].get("base")
        if other is not None:
            if other not in self.codecs or self.codecs[other].get("base") is not None:
                raise ValueError(
                    f"codecs.{codec}.base: {other!r} is not an enabled codec with a base of its own "
                    f"(enabled codecs: {sorted(self.codecs)})"
                )
            return self.base_name(other)
        architecture = self.codecs[codec]["architecture"]
        return next(
            name for name, spec in self.codecs.items() if spec["architecture"] == architecture and not spec.get("base")
        )

    def rate_points(self, codec: str) -> list[int]:
        """Indices into train.rate_points this codec trains at (all unless the codec names some)."""
        chosen = self.codecs[codec].get("rate_points")
        every = range(len(self.train["rate_points"]))
        if chosen is None:
            return list(every)
        if any(i not in every for i in chosen):
            raise ValueError(
                f"codecs.{codec}.rate_points {chosen}: indices into train.rate_points, 0..{len(every) - 1}"
            )
        return list(chosen)

    def reads_hierarchy(self, codec: str) -> bool:
        """Whether the codec's loss reads a hierarchy (a task term at some level). One that does
        not (rd_only) is trained once, whatever train.hierarchies says, and tabulated in every
        hierarchy's tables, like the baselines."""
        return any(w > 0 for w in self.codecs[codec]["task_weights"])

    def codec_models(self) -> list[Model]:
        """One model per (codec, hierarchy, rate point); per (codec, rate point) for a codec
        whose loss reads no hierarchy (results/checkpoints/<codec>/rp<N>)."""
        models = []
        for codec in self.codecs:
            hierarchies = self.train_hierarchies() if self.reads_hierarchy(codec) else [None]
            models += [
                Model(
                    paths.finetune_id(codec, hierarchy, rp),
                    codec,
                    hierarchy=hierarchy,
                    rate_point=f"rp{rp}",
                    layers_are_rate_points=False,
                )
                for hierarchy in hierarchies
                for rp in self.rate_points(codec)
            ]
        return models

    def codecs_reading_hierarchy(self, reads: bool = True) -> list[str]:
        return [codec for codec in self.codecs if self.reads_hierarchy(codec) == reads]

    def baseline_models(self, evaluated_only: bool = False) -> list[Model]:
        """The evaluated baselines, and (evaluated_only False) the intermediate phases a job
        trained here starts from (a shipped job needs no chain)."""
        needed = [name for name, spec in self.baselines.items() if spec["evaluate"]]
        if not evaluated_only:
            stack = [name for name in needed if name in self.trained_baselines()]
            while stack:
                init = self.baselines[stack.pop()]["init"]
                if init in self.baselines and init not in needed:
                    needed.append(init)
                    if init in self.trained_baselines():
                        stack.append(init)
        return [
            Model(name, name, hierarchy=None, rate_point=None, layers_are_rate_points=True)
            for name in self.baselines
            if name in needed
        ]

    def base_models(self) -> list[Model]:
        """The rate-distortion base of each architecture, coded and evaluated like a baseline (its
        prefixes are its rate points): the reference the fine-tunes are measured against."""
        if self.train["base"]["source"] == "none":
            return []
        names = sorted({self.base_name(codec) for codec in self.codecs})
        return [
            Model(
                paths.base_id("base", name),
                "base" if len(names) == 1 else f"base_{name}",
                hierarchy=None,
                rate_point=None,
                layers_are_rate_points=True,
            )
            for name in names
        ]

    def learned_models(self, evaluated_only: bool = False) -> list[Model]:
        """Every trained model: codecs, then baselines, then the bases."""
        return self.codec_models() + self.baseline_models(evaluated_only) + self.base_models()

    def coded_models(self) -> list[Model]:
        """The models whose bitstreams are written and evaluated (intermediate phases are not)."""
        return self.learned_models(evaluated_only=True)

    # -- each job's settings ----------------------------------------------------------------
    def _job_settings(self, with_classifier: bool, **job) -> TrainSettings:
        """The train.* settings that are TrainSettings fields, the view and the seed, then the
        job's own values. A job with no classifier in its loss keeps the classifier's settings
        at their defaults, so editing them never reruns it (nor refuses its shipped model)."""
        shared = {
            key: value
            for key, value in self.train.items()
            if key in SETTING_FIELDS and (with_classifier or key not in TrainSettings.CLASSIFIER_FIELDS)
        }
        return TrainSettings(**{**shared, **self.view, "seed": self.seed, **job})

    def base_settings(self, name: str) -> TrainSettings:
        """Rate-distortion only, on every training photo (no labels needed), with the base's own
        steps, crops and batch."""
        base = self.train["base"]
        lambdas = base.get("lambdas") or self.train["lambdas"]
        return self._job_settings(
            False,
            codec=self.codecs[name]["architecture"],
            lambdas=[lam * base["rate_point"] for lam in lambdas],
            task_weights=[0.0] * len(lambdas),
            classifier=None,
            labelled_only=False,
            **{key: base[key] for key in ("steps", "lr", "checkpoint_every", "batch_size", "view_scale")},
        )

    @property
    def adapts(self) -> bool:
        """Whether the base is moved to the study's lambdas before the fine-tunes (train.adapt)."""
        return self.train.get("adapt", {}).get("steps", 0) > 0 and self.train["base"]["source"] != "none"

    def adapt_settings(self, name: str) -> TrainSettings:
        """The base's job at the study's lambdas (train.lambdas at rate point 1), started from the
        base: rate-distortion only, every training photo, the base's crops and batch."""
        adapt = self.train["adapt"]
        return replace(
            self.base_settings(name),
            lambdas=list(self.train["lambdas"]),
            steps=adapt["steps"],
            lr=adapt["lr"],
            checkpoint_every=adapt["checkpoint_every"],
        )

    def adapt_source(self, base: str) -> dict:
        """The adapted base: shipped (DVC-tracked) or trained here by `adapt_base`."""
        shipped = self.train["adapt"].get("source", "train") == "shipped"
        return _checkpoint_source(
            paths.base_id("adapted", base), paths.base_id("adapt", base), shipped, "train.adapt.source: train"
        )

    def finetune_settings(self, codec: str, rp) -> TrainSettings:
        """train.* at the rate point's lambdas, with what the codec's entry sets itself (its task
        weights, lambdas, crops, task options, seed)."""
        spec = self.codecs[codec]
        own = {key: value for key, value in spec.items() if key in SETTING_FIELDS and value is not None}
        lambdas = own.pop("lambdas", self.train["lambdas"])
        return self._job_settings(
            True,
            **own,
            codec=spec["architecture"],
            lambdas=[lam * self.train["rate_points"][int(rp)] for lam in lambdas],
            # another architecture's base: the weights it shares
            init_transfer=self.codecs[self.base_name(codec)]["architecture"] != spec["architecture"],
        )

    def baseline_settings(self, name: str) -> TrainSettings:
        """Rate-distortion only (no classifier), with the baseline's own lambdas, steps and
        learning rates; a phase started from another phase loads the weights it shares."""
        spec = self.baselines[name]
        own = {key: value for key, value in spec.items() if key in SETTING_FIELDS and value is not None}
        return self._job_settings(
            False,
            **own,
            codec=spec["architecture"],
            mse_weights=spec["mse_weights"] or [1.0] * len(spec["lambdas"]),
            task_weights=[0.0] * len(spec["lambdas"]),
            classifier=None,
            init_transfer=spec["init"] is not None,
        )

    # -- where each job starts from ----------------------------------------------------------
    def base_checkpoint(self, codec: str) -> str | None:
        """The base a fine-tune of `codec` starts from (None: from scratch, train.base.source none)."""
        if self.train["base"]["source"] == "none":
            return None
        return paths.checkpoint(paths.base_id("adapted" if self.adapts else "base", self.base_name(codec)))

    def base_source(self, base: str) -> dict:
        """The shipped base (DVC-tracked, with its training log in git) or the one pretrained here."""
        shipped = self.train["base"]["source"] == "shipped"
        return _checkpoint_source(
            paths.base_id("base", base), paths.base_id("pretrain", base), shipped, "train.base.source: scratch"
        )

    def trained_baselines(self) -> list[str]:
        """Baseline jobs that train here (the rest are shipped models, installed as they are)."""
        return [name for name, spec in self.baselines.items() if spec.get("source", "train") == "train"]

    def shipped_baselines(self) -> list[str]:
        return [name for name in self.baselines if name not in self.trained_baselines()]

    def shipped_baseline_source(self, name: str) -> dict:
        """A shipped baseline's model.pt and log.csv (models/baselines/<job>/, DVC-tracked)."""
        return _checkpoint_source(
            f"baselines/{name}",
            None,
            True,
            f"baselines.{name}.source: train (config/train-baselines.yaml; about an hour on one core)",
        )

    def baseline_init(self, name: str) -> str | None:
        """The checkpoint a baseline job starts from: the codecs' base or another baseline job."""
        init = self.baselines[name]["init"]
        if init is None:
            return None
        if init.startswith("base/"):
            if init.split("/", 1)[1] not in self.codecs:
                raise ValueError(f"baselines.{name}.init: {init} names no codec (codecs: {sorted(self.codecs)})")
        elif init not in self.baselines:
            raise ValueError(
                f"baselines.{name}.init: {init!r} is neither base/<codec> nor a baseline ({sorted(self.baselines)})"
            )
        return paths.checkpoint(init)

    def launcher(self, kind: str) -> str:
        """One process, or torchrun with one process per GPU (DDP) when a job asks for > 1 GPU."""
        gpus = self.train["resources"][kind]["gpus"]
        if gpus > 1:
            return f"python -m torch.distributed.run --standalone --nproc_per_node {gpus} -m coarse2fine.training"
        return "python -m coarse2fine.training"

    def resources(self, kind: str) -> dict:
        """Threads, memory, runtime and GPUs of a `base` or `finetune` job (train.resources)."""
        return dict(self.train["resources"][kind])

    def targets(self) -> list[str]:
        return [path for m in self.learned_models() for path in paths.checkpoint_files(m.id).values()]

    def coding_targets(self) -> list[str]:
        return [path for m in self.coded_models() for path in (paths.sizes(m.id), paths.roundtrip(m.id))]


def _checkpoint_source(shipped_id: str, trained_id: str | None, shipped: bool, otherwise: str) -> dict:
    """model.pt and log.csv of a shipped model (models/<shipped_id>/) or of the one a rule trains
    here (results/checkpoints/<trained_id>/). A shipped model missing from the checkout is pulled
    and verified by the `shipped_model` rule from its DVC file; without that file there is nothing
    to pull, and the error names the setting that trains it."""
    if not shipped:
        return paths.checkpoint_files(trained_id)
    model, dvc_file = paths.shipped_model(shipped_id), paths.shipped_dvc_file(shipped_id)
    if not Path(model).exists() and not Path(dvc_file).exists():
        raise ValueError(
            f"{model} is missing and not tracked ({dvc_file} does not exist): restore it from git, or set {otherwise}"
        )
    return paths.model_files(paths.shipped_dir(shipped_id))
