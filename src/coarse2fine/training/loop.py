"""One training job: build (or resume) the codec, run the steps, log, checkpoint, finish.

The same function runs the shared rate-distortion warm-up (no classifier, no hierarchy) and
every (codec, hierarchy, rate point) fine-tune that starts from it. Everything that decides
what a step computes is a function of (settings, step): the batch (see data.py), the learning
rate (step decay) and the random state (saved in the checkpoint), so a job killed at any point
and rerun resumes from its last checkpoint and ends after the same number of steps.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from . import checkpoint as ckpt
from . import distributed
from .data import ViewDataset, _mix, step_loader
from .job import Job, build_loss, parameter_groups, split_parameters
from .progress import IntervalLog, monitor_accuracy, scalar_terms, write_log
from .settings import TrainSettings

log = logging.getLogger("coarse2fine.training")


def resume_path(out: Path) -> Path:
    """Where a job keeps its periodic checkpoint: beside, never as, its declared output, so a
    workflow manager that deletes the outputs of a failed job leaves the resume point alone."""
    out = Path(out)
    return out.with_name(f"{out.stem}.resume{out.suffix}")


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
    optimizer = torch.optim.Adam(parameter_groups(codec, main_params, settings.lr_multipliers), lr=settings.lr)
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
    if settings.uses_task_loss and settings.task_balance == "cluster":
        weights = loss_fn.set_balance(dataset.labels)
        if runtime.is_main:
            log.info("task balance: cluster weights at level 1 %s", {c: round(w, 3) for c, w in weights[0].items()})
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
            group["lr"] = settings.lr_at(step, settings.lr) * group["lr_scale"]
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
        values = {**scalar_terms(terms), "aux_loss": float(aux_loss.detach())}
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
