"""The settings of one training job, as the Snakemake rule hands them over (one JSON object).

A job is one (codec, hierarchy, rate point) fine-tune, or the shared rate-distortion warm-up.
The rule resolves the config into the per-job values (lambdas already scaled by the rate
point), so the JSON is exactly what the job depends on: change it and only that job reruns.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar

from coarse2fine.config_schema import schema_default
from coarse2fine.errors import SettingsError
from coarse2fine.imaging.view import StudyView


def _default(path: str):
    """A field whose default is the config schema's for `path` (lists and mappings copied)."""
    value = schema_default(path)
    if isinstance(value, (list, dict)):
        return field(default_factory=lambda: schema_default(path))
    return field(default=value)


@dataclass(frozen=True)
class TrainSettings:
    """One job's settings. A field that is a config setting takes its default from the config
    schema (coarse2fine.config_schema): the plan builds these from a validated config, and a job
    started by hand gets the same defaults."""

    codec: dict[str, Any]  # keyword arguments of coarse2fine.models.build_codec
    lambdas: list[float]  # per level, already scaled by the rate point
    mse_weights: list[float]  # per level (paper: 0.33 / 0.67 / 1.0)
    task_weights: list[float]  # per level (paper: 0.5 / 1 / 2); all zero = rate-distortion only
    steps: int
    batch_size: int = _default("train.batch_size")
    # The study's view (imaging/view.py): photos squashed to view x view, the classifier given
    # the centre classifier_crop of the reconstruction; view_scale: area fractions of the random
    # resized crop that augments it ([1, 1]: the evaluation view itself, flipped half the time).
    view: int = _default("view.size")
    view_scale: list[float] = _default("train.view_scale")
    classifier_crop: float = _default("view.classifier_crop")
    # Rate-distortion jobs may train on unlabelled photos too (the base codec).
    labelled_only: bool = True
    lr: float = _default("train.lr")
    aux_lr: float = _default("train.aux_lr")
    lr_milestones: list[float] = _default("train.lr_milestones")  # fractions of steps
    lr_decay: float = _default("train.lr_decay")
    grad_clip: float = _default("train.grad_clip")
    classifier: str | None = _default("train.classifier")  # None: no classifier at all (warm-up)
    classifier_size: int = _default("train.classifier_size")
    label_smoothing: float = _default("train.label_smoothing")
    task_levels: str = _default("train.task_levels")  # all (paper) | random: one level per step
    task_gradient: str = _default("codecs.*.task_gradient")  # all (paper) | own_block
    # labels (paper: the true cluster / class) | teacher: the classifier's own prob-sum distribution
    # on the uncompressed view as a per-image soft target (KL); models/loss.py
    task_target: str = _default("codecs.*.task_target")
    # none (paper) | cluster: each image's task term weighted by its cluster's inverse frequency
    task_balance: str = _default("codecs.*.task_balance")
    # what the synthesis and the channel context see in training (models/codec.py): ste | noise
    training_quantization: str = _default("codecs.*.training_quantization")
    checkpoint_every: int = _default("train.checkpoint_every")
    log_every: int = _default("train.log_every")
    # every N steps (and at step 0) the codec's weights to snapshots/step_<N>.pt beside the output,
    # for probing a run step by step (training/probe.py); 0: none. Nothing trained depends on it.
    snapshot_every: int = _default("train.snapshot_every")
    seed: int = _default("seed")
    threads: int = _default("train.resources.finetune.threads")
    workers: int = _default("train.workers")
    device: str = _default("train.device")  # auto | cpu | cuda
    cache_images: bool = _default("train.cache_images")
    # Start from a checkpoint of another architecture (a training phase of a baseline): load
    # the parameters whose names and shapes match, the rest starts fresh.
    init_transfer: bool = False
    # Name prefixes of the parameters this job trains (e.g. ["selector."]); None: all of them.
    trainable: list[str] | None = _default("baselines.*.trainable")
    # {name prefix: factor}: those parameters learn at factor x lr (DeepHQ's official phase 3
    # trains its exponents at 1000x); empty: one learning rate.
    lr_multipliers: dict[str, float] = _default("baselines.*.lr_multipliers")

    # Settings left out of the JSON (to_dict) while at these values: a setting added later that
    # changes nothing a job computes, so that the jobs' settings, and the commands the plan
    # writes, stay what they were for every configuration that leaves it off.
    OMITTED_AT: ClassVar[dict[str, Any]] = {"snapshot_every": 0}
    # the settings only a job with a classifier in its loss reads
    CLASSIFIER_FIELDS: ClassVar[frozenset[str]] = frozenset({"classifier_size", "label_smoothing", "task_levels"})

    def __post_init__(self):
        if "name" not in self.codec:
            raise SettingsError("codec settings need a 'name' (the registry name for build_codec)")
        n = len(self.lambdas)
        for key in ("mse_weights", "task_weights"):
            if len(getattr(self, key)) != n:
                raise SettingsError(f"{key} has {len(getattr(self, key))} entries but lambdas has {n}: one per level")
        blocks = self.codec.get("level_blocks")
        if blocks is not None and len(blocks) != n:
            raise SettingsError(f"codec level_blocks {blocks} give {len(blocks)} levels but lambdas has {n}")
        for key in ("steps", "batch_size", "view", "checkpoint_every", "log_every", "threads"):
            if getattr(self, key) < 1:
                raise SettingsError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.snapshot_every < 0:
            raise SettingsError(f"snapshot_every must be >= 0 (0: no snapshots), got {self.snapshot_every}")
        if len(self.view_scale) != 2 or not 0 < self.view_scale[0] <= self.view_scale[1] <= 1:
            raise SettingsError(
                f"view_scale must be [min, max] area fractions with 0 < min <= max <= 1, got {self.view_scale}"
            )
        if not 0.1 <= self.classifier_crop <= 1:
            raise SettingsError(f"classifier_crop must be a fraction in [0.1, 1], got {self.classifier_crop}")
        if self.uses_task_loss and not self.labelled_only:
            raise SettingsError("a task loss needs labels: labelled_only must be true when task_weights are non-zero")
        if any(w > 0 for w in self.task_weights) and not self.classifier:
            raise SettingsError(f"task_weights {self.task_weights} need a classifier, but classifier is empty")
        if self.task_levels not in ("all", "random"):
            raise SettingsError(f"task_levels must be all or random, got {self.task_levels!r}")
        if self.task_target not in ("labels", "teacher"):
            raise SettingsError(f"task_target must be labels or teacher, got {self.task_target!r}")
        if self.task_balance not in ("none", "cluster"):
            raise SettingsError(f"task_balance must be none or cluster, got {self.task_balance!r}")
        if self.training_quantization not in ("ste", "noise"):
            raise SettingsError(f"training_quantization must be ste or noise, got {self.training_quantization!r}")
        if self.task_gradient not in ("all", "own_block"):
            raise SettingsError(f"task_gradient must be all or own_block, got {self.task_gradient!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise SettingsError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.trainable is not None and (
            not self.trainable or not all(isinstance(p, str) and p for p in self.trainable)
        ):
            raise SettingsError(
                f"trainable must be null or a non-empty list of parameter name prefixes, got {self.trainable!r}"
            )
        if not isinstance(self.lr_multipliers, dict) or not all(
            isinstance(k, str) and k and isinstance(v, (int, float)) and v > 0 for k, v in self.lr_multipliers.items()
        ):
            raise SettingsError(
                f"lr_multipliers must map parameter name prefixes to factors > 0, got {self.lr_multipliers!r}"
            )
        if not all(0 < m < 1 for m in self.lr_milestones):
            raise SettingsError(f"lr_milestones are fractions of the steps in (0, 1), got {self.lr_milestones}")

    @property
    def study_view(self):
        return StudyView(self.view, self.classifier_crop)

    @property
    def num_levels(self) -> int:
        return len(self.lambdas)

    @property
    def uses_task_loss(self) -> bool:
        return any(w > 0 for w in self.task_weights)

    def lr_at(self, step: int, base: float) -> float:
        """Step decay of the paper: x lr_decay at each milestone fraction of the run."""
        passed = sum(step >= round(m * self.steps) for m in self.lr_milestones)
        return base * self.lr_decay**passed

    def to_dict(self) -> dict[str, Any]:
        """Every field, but those of OMITTED_AT that hold their omitted value."""
        return {k: v for k, v in asdict(self).items() if not (k in self.OMITTED_AT and v == self.OMITTED_AT[k])}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"unknown training settings {unknown}; known: {sorted(known)}")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise SettingsError(f"training settings lack {missing}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "TrainSettings":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"training settings are not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SettingsError("training settings must be a JSON object")
        return cls.from_dict(data)


# Settings that may differ between a checkpoint and the job resuming it without changing
# what the job computes (where and how fast it runs, how often it reports or snapshots).
RESUME_NEUTRAL = {"checkpoint_every", "log_every", "snapshot_every", "threads", "workers", "device", "cache_images"}


def settings_difference(saved: dict[str, Any], current: dict[str, Any], ignore=frozenset()) -> list[str]:
    """Human-readable differences 'key: saved -> current' between two settings dicts."""
    out = []
    for key in sorted(set(saved) | set(current)):
        if key in ignore:
            continue
        a, b = saved.get(key, "<absent>"), current.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{d}" for d in settings_difference(a, b)]
        elif a != b:
            out.append(f"{key}: {a!r} -> {b!r}")
    return out
