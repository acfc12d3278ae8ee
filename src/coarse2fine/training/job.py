"""A training job's set-up: the codec built and started from its init checkpoint, the hierarchy's
level maps, the loss, the parameters each optimiser trains, and what its checkpoints record."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coarse2fine.classify import load_classifier
from coarse2fine.classify.levels import NUM_CLASSES
from coarse2fine.hierarchy.assignments import load_hierarchy
from coarse2fine.kernels import machine
from coarse2fine.models import C2FLoss, build_codec

from . import checkpoint as ckpt
from .settings import TrainSettings

log = logging.getLogger("coarse2fine.training")


def split_parameters(
    codec: nn.Module, trainable: list[str] | None = None
) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """Main parameters and the entropy bottlenecks' quantiles (CompressAI's aux parameters).

    With `trainable` (name prefixes), every other main parameter is frozen; the quantiles stay
    trainable (they only place the entropy tables that update() builds)."""
    main, aux = [], []
    for name, p in codec.named_parameters():
        if name.endswith(".quantiles"):
            aux.append(p)
        elif trainable is None or name.startswith(tuple(trainable)):
            main.append(p)
        else:
            p.requires_grad_(False)
    if not main:
        names = sorted({n.split(".")[0] for n, _ in codec.named_parameters()})
        raise ValueError(f"no parameter matches trainable prefixes {trainable}; top-level modules: {names}")
    return main, aux


def parameter_groups(codec: nn.Module, params: list[nn.Parameter], multipliers: dict[str, float]) -> list[dict]:
    """Adam's parameter groups: one at lr, one per multiplier prefix at factor x lr
    ("lr_scale", applied with the schedule); the first prefix a name starts with wins."""
    if not multipliers:
        return [{"params": params, "lr_scale": 1.0}]
    names = {id(p): n for n, p in codec.named_parameters()}
    groups = {prefix: [] for prefix in multipliers}
    plain = []
    for p in params:
        prefix = next((k for k in multipliers if names[id(p)].startswith(k)), None)
        (groups[prefix] if prefix else plain).append(p)
    empty = [k for k, v in groups.items() if not v]
    if empty:
        raise ValueError(f"lr_multipliers {empty} match no trained parameter")
    return [{"params": plain, "lr_scale": 1.0}] + [
        {"params": v, "lr_scale": float(multipliers[k])} for k, v in groups.items()
    ]


def transfer_weights(codec: nn.Module, state: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    """Load the entries of `state` whose names and shapes match `codec`'s; returns (loaded, new)."""
    own = codec.state_dict()
    matching = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not any(k.endswith(("weight", "bias")) for k in matching):
        raise ckpt.CheckpointMismatch(
            "the init checkpoint shares no weights with this codec (no names and shapes in common)"
        )
    codec.load_state_dict({**own, **matching})
    return sorted(matching), sorted(set(own) - set(matching))


def reads_classifier(settings: TrainSettings, level_maps) -> bool:
    """Whether a job runs its classifier: in its task loss, or, without one, to log the accuracy
    per level when it has a hierarchy. One that does not (the warm-up; rd_only, trained without a
    hierarchy) never loads it: nothing it computes changes (the random state is seeded after the
    loss is built), and it saves the load and the classifier's memory."""
    return bool(settings.classifier) and (settings.uses_task_loss or level_maps is not None)


def build_loss(settings: TrainSettings, level_maps, device, seed: int = 0):
    classifier = load_classifier(settings.classifier).to(device) if reads_classifier(settings, level_maps) else None
    if level_maps is None:
        # No hierarchy (the warm-up): no task loss reads the maps, so one cluster per level will do.
        level_maps = [np.zeros(NUM_CLASSES, dtype=np.int64)] * (settings.num_levels - 1)
    return C2FLoss(
        lambdas=settings.lambdas,
        mse_weights=settings.mse_weights,
        task_weights=settings.task_weights,
        classifier=classifier,
        level_maps=level_maps,
        label_smoothing=settings.label_smoothing,
        classifier_size=settings.classifier_size,
        task_levels=settings.task_levels,
        seed=seed,
        view=settings.study_view,
        task_gradient=settings.task_gradient,
        task_target=settings.task_target,
        task_balance=settings.task_balance,
    ).to(device)


def load_level_maps(hierarchy: Path | None, num_levels: int):
    """The coarse levels' class -> cluster maps; the finest level is the 1000 classes."""
    if hierarchy is None:
        return None
    h = load_hierarchy(hierarchy)
    if h.num_levels != num_levels:
        raise ValueError(
            f"hierarchy {hierarchy} has {h.num_levels} levels (K = {list(h.ks)}) "
            f"but the codec has {num_levels} level blocks"
        )
    return list(h.level_maps)


class Job:
    """One training job's codec, where it started from and what its checkpoints record."""

    def __init__(self, settings: TrainSettings, hierarchy: Path | None, init: Path | None):
        self.settings, self.settings_dict = settings, settings.to_dict()
        self.hierarchy = None if hierarchy is None else Path(hierarchy).as_posix()
        torch.manual_seed(settings.seed)
        self.codec = build_codec(**settings.codec)
        self.codec_config, self.level_blocks = dict(self.codec.config), list(self.codec.level_blocks)
        # one lambda per reconstruction the codec trains (its levels; RMPGC's paper conditions: 3)
        trained = getattr(self.codec, "training_levels", self.codec.num_levels)
        if trained != settings.num_levels:
            raise ValueError(
                f"codec {settings.codec['name']} trains {trained} reconstructions but the settings give "
                f"{settings.num_levels} lambdas"
            )
        if settings.view % self.codec.pad_multiple:
            raise ValueError(
                f"view {settings.view} is not a multiple of the codec's pad multiple {self.codec.pad_multiple}"
            )
        if settings.training_quantization != "ste":
            if not hasattr(self.codec, "set_training_quantization"):
                raise ValueError(
                    f"training_quantization {settings.training_quantization!r}: codec "
                    f"{settings.codec['name']} trains with its own quantisation only"
                )
            self.codec.set_training_quantization(settings.training_quantization)
        self.level_maps = load_level_maps(hierarchy, trained)
        if settings.uses_task_loss and self.level_maps is None and trained > 1:
            raise ValueError("task weights > 0 need a hierarchy (--hierarchy assignments.csv) for the coarse levels")
        self.init_id = None if init is None else self.start_from(Path(init))

    def start_from(self, init: Path) -> str:
        """Load the init checkpoint (whole, or the matching weights with init_transfer)."""
        start_from = ckpt.load(init)
        diffs = ckpt.layout_difference(start_from, self.codec_config, self.level_blocks)
        if self.settings.init_transfer:
            loaded, fresh = transfer_weights(self.codec, start_from["codec"])
            log.info(
                "started from %s: %d tensors loaded, %d new (%s)",
                init,
                len(loaded),
                len(fresh),
                ", ".join(sorted({k.split(".")[0] for k in fresh})) or "none",
            )
        elif diffs:
            raise ckpt.CheckpointMismatch(f"cannot start from {init}: it holds another codec ({'; '.join(diffs)})")
        else:
            self.codec.load_state_dict(start_from["codec"])
        return f"{init.as_posix()}@step{start_from['step']}"

    def checkpoint(self, kind: str, step: int, rows: list[dict], **extra) -> dict:
        """What a resume or a final checkpoint holds (training/checkpoint.py reads both)."""
        return {
            "format": ckpt.FORMAT,
            "kind": kind,
            "codec_config": self.codec_config,
            "level_blocks": self.level_blocks,
            "num_levels": self.codec.num_levels,
            "settings": self.settings_dict,
            "init": self.init_id,
            "step": step,
            "codec": self.codec.state_dict(),
            "log": rows,
            # the CPU and kernels that trained it: another machine's kernels give other weights
            "machine": machine(),
            **extra,
        }
