"""One training job: build (or resume) the codec, run the steps, log, checkpoint, finish.

The same function runs the shared rate-distortion warm-up (no classifier, no hierarchy) and
every (codec, hierarchy, rate point) fine-tune that starts from it. Everything that decides
what a step computes is a function of (settings, step): the batch (see data.py), the learning
rate (step decay) and the random state (saved in the checkpoint), so a job killed at any point
and rerun resumes from its last checkpoint and ends after the same number of steps.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from coarse2fine.classify import load_classifier
from coarse2fine.classify.levels import NUM_CLASSES
from coarse2fine.hierarchy.assignments import load_hierarchy
from coarse2fine.models import C2FLoss, build_codec

from . import checkpoint as ckpt
from . import distributed
from .data import ViewDataset, _mix, step_loader
from .settings import TrainSettings

log = logging.getLogger("coarse2fine.training")


def resume_path(out: Path) -> Path:
    """Where a job keeps its periodic checkpoint: beside, never as, its declared output, so a
    workflow manager that deletes the outputs of a failed job leaves the resume point alone."""
    out = Path(out)
    return out.with_name(f"{out.stem}.resume{out.suffix}")


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


def build_loss(settings: TrainSettings, level_maps, device, seed: int = 0):
    if level_maps is None:
        # No hierarchy (the warm-up): no task loss reads the maps, so one cluster per level will do.
        level_maps = [np.zeros(NUM_CLASSES, dtype=np.int64)] * (settings.num_levels - 1)
    classifier = load_classifier(settings.classifier).to(device) if settings.classifier else None
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


@torch.no_grad()
def monitor_accuracy(loss_fn, out: dict, labels: torch.Tensor) -> dict[str, float]:
    """Top-1 per level of the current batch's reconstructions, for jobs whose loss computes
    none (rate-distortion only): the classifier runs without gradients, once per log row."""
    return {
        f"acc_{k + 1}": loss_fn.task_terms(x_hat.detach(), labels.long(), k)[1] for k, x_hat in enumerate(out["x_hat"])
    }


def _scalar_terms(terms: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v.detach()) if torch.is_tensor(v) else float(v)
        for k, v in terms.items()
        if (torch.is_tensor(v) and v.numel() == 1) or isinstance(v, (int, float))
    }


def write_log(rows: list[dict[str, float]], path: Path) -> None:
    """The whole log so far, rewritten atomically (rows are few: one per log interval)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


class IntervalLog:
    """Means of the step terms over one log interval (NaN: a term not measured in it)."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.steps, self.start = 0, time.perf_counter()

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():  # NaN: not measured this step (e.g. a level without task loss)
            if math.isfinite(v):
                self.sums[k], self.counts[k] = self.sums.get(k, 0.0) + v, self.counts.get(k, 0) + 1
            else:
                self.sums.setdefault(k, 0.0), self.counts.setdefault(k, 0)
        self.steps += 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] if self.counts[k] else math.nan for k in self.sums}

    def seconds_per_step(self) -> float:
        return (time.perf_counter() - self.start) / max(self.steps, 1)


class Job:
    """One training job's codec, where it started from and what its checkpoints record."""

    def __init__(self, settings: TrainSettings, hierarchy: Path | None, init: Path | None):
        self.settings, self.settings_dict = settings, settings.to_dict()
        self.hierarchy = None if hierarchy is None else Path(hierarchy).as_posix()
        torch.manual_seed(settings.seed)
        self.codec = build_codec(**settings.codec)
        self.codec_config, self.level_blocks = dict(self.codec.config), list(self.codec.level_blocks)
        if self.codec.num_levels != settings.num_levels:
            raise ValueError(
                f"codec {settings.codec['name']} has {self.codec.num_levels} levels but the settings give "
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
        self.level_maps = load_level_maps(hierarchy, self.codec.num_levels)
        if settings.uses_task_loss and self.level_maps is None and self.codec.num_levels > 1:
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
            **extra,
        }


def train(
    settings: TrainSettings,
    manifest: Path,
    out: Path,
    log_csv: Path,
    hierarchy: Path | None = None,
    init: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Runs (or resumes) one job; returns the final checkpoint's metadata."""
    runtime = distributed.start(settings.device)
    torch.set_num_threads(settings.threads)
    out, log_csv = Path(out), Path(log_csv)
    state_path = resume_path(out)
    job = Job(settings, hierarchy, init)
    codec = job.codec

    codec.to(runtime.device).train()
    main_params, aux_params = split_parameters(codec, settings.trainable)
    optimizer = torch.optim.Adam(main_params, lr=settings.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=settings.aux_lr)

    loss_fn = build_loss(settings, job.level_maps, runtime.device, seed=_mix(settings.seed, runtime.rank, 2))
    step, rows = 0, []
    if state_path.exists():
        saved = ckpt.load(state_path)
        ckpt.check_resumable(state_path, saved, job.settings_dict, job.init_id, job.codec_config, job.level_blocks)
        codec.load_state_dict(saved["codec"])
        optimizer.load_state_dict(saved["optimizer"])
        aux_optimizer.load_state_dict(saved["aux_optimizer"])
        step, rows = int(saved["step"]), list(saved["log"])
        if runtime.world_size == 1:
            ckpt.set_rng_state(saved["rng"])
            loss_fn.level_generator.set_state(saved["rng"]["task_level"])
        if runtime.is_main:
            log.info("resuming %s from step %d of %d", state_path, step, settings.steps)
    if step == 0 or runtime.world_size > 1:
        # Each rank draws its own quantisation noise; seeded by (seed, rank, step) so a
        # distributed resume is repeatable too (single-process resumes restore the saved state).
        torch.manual_seed(_mix(settings.seed, runtime.rank, step, 1))
        loss_fn.level_generator.manual_seed(_mix(settings.seed, runtime.rank, step, 2))
    # rate-distortion jobs still report accuracy if a classifier and a hierarchy are at hand
    monitor = not settings.uses_task_loss and settings.classifier is not None and job.level_maps is not None
    model = codec
    if runtime.distributed:
        model = nn.parallel.DistributedDataParallel(
            codec, device_ids=[runtime.device.index] if runtime.device.type == "cuda" else None
        )

    dataset = ViewDataset(
        manifest,
        ("train",),
        settings.study_view,
        settings.view_scale,
        settings.seed,
        settings.cache_images,
        labelled_only=settings.labelled_only,
    )
    if runtime.is_main and dataset.dropped_unlabelled:
        log.info("left out %d unlabelled training images", dataset.dropped_unlabelled)
    loader = step_loader(
        dataset,
        settings.batch_size,
        step,
        settings.steps,
        settings.seed,
        runtime.rank,
        runtime.world_size,
        settings.workers,
    )
    steps_per_epoch = len(dataset) / (settings.batch_size * runtime.world_size)

    def save_state(at_step: int) -> None:
        if runtime.is_main:
            ckpt.save_atomic(
                job.checkpoint(
                    "resume",
                    at_step,
                    rows,
                    optimizer=optimizer.state_dict(),
                    aux_optimizer=aux_optimizer.state_dict(),
                    rng={**ckpt.rng_state(), "task_level": loss_fn.level_generator.get_state()},
                ),
                state_path,
            )
        distributed.barrier(runtime)

    interval = IntervalLog()
    bar = tqdm(
        total=settings.steps,
        initial=step,
        disable=not (progress and runtime.is_main),
        desc=out.parent.as_posix(),
        mininterval=5.0,
        dynamic_ncols=True,
    )
    for x, labels in loader:
        x, labels = x.to(runtime.device, non_blocking=True), labels.to(runtime.device)
        for group in optimizer.param_groups:
            group["lr"] = settings.lr_at(step, settings.lr)
        for group in aux_optimizer.param_groups:
            group["lr"] = settings.lr_at(step, settings.aux_lr)
        optimizer.zero_grad(set_to_none=True)
        aux_optimizer.zero_grad(set_to_none=True)
        outputs = model(x)
        terms = loss_fn(outputs, x, labels)
        aux_loss = codec.aux_loss()
        # The aux loss reaches only the quantiles (CompressAI detaches the density there), so
        # one backward serves both optimisers and DDP sees every parameter used once.
        (terms["loss"] + aux_loss).backward()
        if not math.isfinite(float(terms["loss"].detach())):
            raise FloatingPointError(
                f"loss became {float(terms['loss'].detach())} at step {step + 1}; "
                f"lower lr (now {settings.lr_at(step, settings.lr)})"
            )
        if settings.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(main_params, settings.grad_clip)
        optimizer.step()
        aux_optimizer.step()
        step += 1
        bar.update(1)

        log_now = step % settings.log_every == 0 or step == settings.steps
        values = {**_scalar_terms(terms), "aux_loss": float(aux_loss.detach())}
        if monitor and log_now:
            values.update(monitor_accuracy(loss_fn, outputs, labels))
        interval.add(values)
        if log_now:
            means = distributed.mean_across_ranks(interval.means(), runtime)
            row = {
                "step": step,
                "epoch": round(step / steps_per_epoch, 3),
                "lr": settings.lr_at(step - 1, settings.lr),
                **{k: round(v, 6) for k, v in means.items()},
                "sec_per_step": round(interval.seconds_per_step(), 4),
            }
            rows.append(row)
            if runtime.is_main:
                write_log(rows, log_csv)
                bar.set_postfix({k: round(row[k], 3) for k in ("loss", "bpp_1") if k in row})
            interval = IntervalLog()
        if step % settings.checkpoint_every == 0 and step < settings.steps:
            save_state(step)
    bar.close()
    if step != settings.steps:
        raise RuntimeError(f"the loader ended at step {step}, expected {settings.steps}")

    codec.eval()
    codec.update(force=True)  # entropy tables for real coding, saved with the final weights
    final = job.checkpoint(
        "final", step, rows, hierarchy=job.hierarchy, entropy_tables_ready=True, world_size=runtime.world_size
    )
    if runtime.is_main:
        write_log(rows, log_csv)
        ckpt.save_atomic(final, out)
        state_path.unlink(missing_ok=True)
    distributed.barrier(runtime)
    distributed.stop(runtime)
    return {k: v for k, v in final.items() if k != "codec"}
