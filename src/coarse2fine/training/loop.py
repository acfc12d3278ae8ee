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
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from coarse2fine.kernels import machine

from . import checkpoint as ckpt
from . import distributed
from .data import ViewDataset, mix_seed, step_loader
from .job import Job, build_loss, parameter_groups, split_parameters
from .memory import keep_freed_memory
from .progress import IntervalLog, monitor_accuracy, scalar_terms, write_log
from .settings import TrainSettings

log = logging.getLogger("coarse2fine.training")


def snapshot_path(out: Path, step: int) -> Path:
    """Where a job with `snapshot_every` keeps its weights at `step`: snapshots/ beside its output."""
    return Path(out).parent / "snapshots" / f"step_{step:06d}.pt"


def resume_path(out: Path) -> Path:
    """Where a job keeps its periodic checkpoint: beside, never as, its declared output, so a
    workflow manager that deletes the outputs of a failed job leaves the resume point alone."""
    out = Path(out)
    return out.with_name(f"{out.stem}.resume{out.suffix}")


@dataclass
class Run:
    """What one job's steps work on: the codec (and its DDP wrapper), the optimisers, the loss,
    where it stands (step, log rows) and where it saves its resume point."""

    settings: TrainSettings
    runtime: Any
    job: Job
    model: nn.Module
    main_params: list
    optimizer: torch.optim.Optimizer
    aux_optimizer: torch.optim.Optimizer
    loss_fn: Any
    state_path: Path
    step: int = 0
    rows: list = field(default_factory=list)

    @property
    def codec(self) -> nn.Module:
        return self.job.codec


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
    keep_freed_memory()  # no fresh pages for every step's tensors (memory.py)
    out, log_csv = Path(out), Path(log_csv)
    run = start(settings, runtime, Job(settings, hierarchy, init), resume_path(out))
    dataset, loader = training_data(run, manifest)
    if settings.snapshot_every and run.step == 0:
        save_snapshot(run, out)  # the weights it starts from
    steps_per_epoch = len(dataset) / (settings.batch_size * runtime.world_size)
    # rate-distortion jobs still report accuracy if a classifier and a hierarchy are at hand
    # (the loss then has the classifier: job.reads_classifier)
    monitor = not settings.uses_task_loss and run.loss_fn.classifier is not None
    interval = IntervalLog()
    # A bar on a terminal; in a job's log file (Snakemake, Slurm) one line per logged interval
    # instead, since a file of carriage-returned bars reads as one unreadable line.
    on_terminal = sys.stderr.isatty()
    bar = tqdm(
        total=settings.steps,
        initial=run.step,
        disable=not (progress and runtime.is_main and on_terminal),
        desc=out.parent.as_posix(),
        mininterval=5.0,
        dynamic_ncols=True,
    )
    for x, labels in loader:
        x, labels = x.to(runtime.device, non_blocking=True), labels.to(runtime.device)
        outputs, terms, aux_loss = take_step(run, x, labels)
        bar.update(1)
        log_now = run.step % settings.log_every == 0 or run.step == settings.steps
        values = {**scalar_terms(terms), "aux_loss": float(aux_loss.detach())}
        if monitor and log_now:
            values.update(monitor_accuracy(run.loss_fn, outputs, labels))
        interval.add(values)
        if log_now:
            row = log_interval(run, interval, steps_per_epoch, log_csv)
            bar.set_postfix({k: round(row[k], 3) for k in ("loss", "bpp_1") if k in row})
            if progress and runtime.is_main and not on_terminal:
                log.info(progress_line(row, settings.steps))
            interval = IntervalLog()
        if run.step % settings.checkpoint_every == 0 and run.step < settings.steps:
            save_resume_point(run)
        if settings.snapshot_every and run.step % settings.snapshot_every == 0:
            save_snapshot(run, out)
    bar.close()
    if run.step != settings.steps:
        raise RuntimeError(f"the loader ended at step {run.step}, expected {settings.steps}")
    return finish(run, out, log_csv)


def progress_line(row: dict, steps: int) -> str:
    """One logged interval as a line: the step, the loss, each level's rate and PSNR, the time."""
    levels = sorted(int(k.split("_")[1]) for k in row if k.startswith("bpp_"))
    rates = " ".join(f"L{i} {row[f'bpp_{i}']:.3f} bpp {row.get(f'psnr_{i}', float('nan')):.2f} dB" for i in levels)
    loss = row.get("loss", float("nan"))
    return f"step {row['step']}/{steps}: loss {loss:.4f}, {rates}, {row['sec_per_step']:.2f} s/step"


def start(settings: TrainSettings, runtime, job: Job, state_path: Path) -> Run:
    """The codec on its device, its optimisers and loss; resumed from `state_path` if a killed
    run left one there; the random state seeded; wrapped for DDP when distributed."""
    codec = job.codec
    codec.to(runtime.device).train()
    main_params, aux_params = split_parameters(codec, settings.trainable)
    run = Run(
        settings=settings,
        runtime=runtime,
        job=job,
        model=codec,
        main_params=main_params,
        optimizer=torch.optim.Adam(parameter_groups(codec, main_params, settings.lr_multipliers), lr=settings.lr),
        aux_optimizer=torch.optim.Adam(aux_params, lr=settings.aux_lr),
        loss_fn=build_loss(settings, job.level_maps, runtime.device, seed=mix_seed(settings.seed, runtime.rank, 2)),
        state_path=state_path,
    )
    if state_path.exists():
        resume(run)
    if run.step == 0 or runtime.world_size > 1:
        # Each rank draws its own quantisation noise; seeded by (seed, rank, step) so a
        # distributed resume is repeatable too (single-process resumes restore the saved state).
        torch.manual_seed(mix_seed(settings.seed, runtime.rank, run.step, 1))
        run.loss_fn.level_generator.manual_seed(mix_seed(settings.seed, runtime.rank, run.step, 2))
    if runtime.distributed:
        run.model = nn.parallel.DistributedDataParallel(
            codec, device_ids=[runtime.device.index] if runtime.device.type == "cuda" else None
        )
    return run


def resume(run: Run) -> None:
    """Weights, optimisers, step, log rows and (single process) random state of the resume point,
    checked to be this job's."""
    job, path = run.job, run.state_path
    saved = ckpt.load(path)
    ckpt.check_resumable(path, saved, job.settings_dict, job.init_id, job.codec_config, job.level_blocks)
    run.codec.load_state_dict(saved["codec"])
    run.optimizer.load_state_dict(saved["optimizer"])
    run.aux_optimizer.load_state_dict(saved["aux_optimizer"])
    run.step, run.rows = int(saved["step"]), list(saved["log"])
    if run.runtime.world_size == 1:
        ckpt.set_rng_state(saved["rng"])
        run.loss_fn.level_generator.set_state(saved["rng"]["task_level"])
    if run.runtime.is_main:
        log.info("resuming %s from step %d of %d", path, run.step, run.settings.steps)
        warn_other_machine(path, saved.get("machine"))


def warn_other_machine(path: Path, saved: dict | None) -> None:
    """A resume on another CPU or with other kernels goes on (the job is still this job), but its
    weights will not equal an uninterrupted run's: say so in the log."""
    now = machine()
    keys = ("cpu", "torch_cpu_capability", "kernel_pins", "torch")
    changed = [f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in keys if saved and saved.get(k) != now[k]]
    if changed:
        log.warning(
            "%s was written on another machine or with other CPU kernels (%s): the resumed weights "
            "will not be bit-identical to an uninterrupted run's",
            path,
            "; ".join(changed),
        )


def training_data(run: Run, manifest: Path):
    """(dataset, loader): the training views, the batches from the run's step on (see data.py);
    the loss's cluster weights set from the labels when the task is balanced."""
    settings, runtime = run.settings, run.runtime
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
        weights = run.loss_fn.set_balance(dataset.labels)
        if runtime.is_main:
            log.info("task balance: cluster weights at level 1 %s", {c: round(w, 3) for c, w in weights[0].items()})
    if runtime.is_main and dataset.dropped_unlabelled:
        log.info("left out %d unlabelled training images", dataset.dropped_unlabelled)
    loader = step_loader(
        dataset,
        settings.batch_size,
        run.step,
        settings.steps,
        settings.seed,
        runtime.rank,
        runtime.world_size,
        settings.workers,
    )
    return dataset, loader


def take_step(run: Run, x: torch.Tensor, labels: torch.Tensor):
    """One optimisation step at run.step's learning rate; returns (outputs, loss terms, aux loss)."""
    settings, step = run.settings, run.step
    for group in run.optimizer.param_groups:
        group["lr"] = settings.lr_at(step, settings.lr) * group["lr_scale"]
    for group in run.aux_optimizer.param_groups:
        group["lr"] = settings.lr_at(step, settings.aux_lr)
    run.optimizer.zero_grad(set_to_none=True)
    run.aux_optimizer.zero_grad(set_to_none=True)
    outputs = run.model(x)
    terms = run.loss_fn(outputs, x, labels)
    aux_loss = run.codec.aux_loss()
    # The aux loss reaches only the quantiles (CompressAI detaches the density there), so
    # one backward serves both optimisers and DDP sees every parameter used once.
    (terms["loss"] + aux_loss).backward()
    if not math.isfinite(float(terms["loss"].detach())):
        raise FloatingPointError(
            f"loss became {float(terms['loss'].detach())} at step {step + 1}; "
            f"lower lr (now {settings.lr_at(step, settings.lr)})"
        )
    if settings.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(run.main_params, settings.grad_clip)
    run.optimizer.step()
    run.aux_optimizer.step()
    run.step += 1
    return outputs, terms, aux_loss


def log_interval(run: Run, interval: IntervalLog, steps_per_epoch: float, log_csv: Path) -> dict:
    """The interval's means (across ranks) as a log row, appended and written out."""
    means = distributed.mean_across_ranks(interval.means(), run.runtime)
    row = {
        "step": run.step,
        "epoch": round(run.step / steps_per_epoch, 3),
        "lr": run.settings.lr_at(run.step - 1, run.settings.lr),
        **{k: round(v, 6) for k, v in means.items()},
        "sec_per_step": round(interval.seconds_per_step(), 4),
    }
    run.rows.append(row)
    if run.runtime.is_main:
        write_log(run.rows, log_csv)
    return row


def save_resume_point(run: Run) -> None:
    if run.runtime.is_main:
        ckpt.save_atomic(
            run.job.checkpoint(
                "resume",
                run.step,
                run.rows,
                optimizer=run.optimizer.state_dict(),
                aux_optimizer=run.aux_optimizer.state_dict(),
                rng={**ckpt.rng_state(), "task_level": run.loss_fn.level_generator.get_state()},
            ),
            run.state_path,
        )
    distributed.barrier(run.runtime)


def save_snapshot(run: Run, out: Path) -> None:
    """The codec's weights now, with what a checkpoint records of the job (no optimiser or random
    state: a snapshot is for reading, not resuming), written atomically by the main process.
    Nothing the steps compute reads or changes: the weights are read, not updated, and no random
    number is drawn. The entropy tables the weights carry are the init's, so the snapshot says
    they are not ready: loading it builds them from its own weights (coding.load_codec)."""
    if run.runtime.is_main:
        snapshot = run.job.checkpoint("snapshot", run.step, run.rows, entropy_tables_ready=False)
        ckpt.save_atomic(snapshot, snapshot_path(out, run.step))


def finish(run: Run, out: Path, log_csv: Path) -> dict[str, Any]:
    """Entropy tables from the final weights, the final checkpoint and log written, the resume
    point removed; returns the checkpoint's metadata."""
    run.codec.eval()
    run.codec.update(force=True)  # entropy tables for real coding, saved with the final weights
    final = run.job.checkpoint(
        "final",
        run.step,
        run.rows,
        hierarchy=run.job.hierarchy,
        entropy_tables_ready=True,
        world_size=run.runtime.world_size,
    )
    if run.runtime.is_main:
        write_log(run.rows, log_csv)
        ckpt.save_atomic(final, out)
        run.state_path.unlink(missing_ok=True)
    distributed.barrier(run.runtime)
    distributed.stop(run.runtime)
    return {k: v for k, v in final.items() if k != "codec"}
