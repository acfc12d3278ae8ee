"""Seconds per training step and peak memory: the c2f codec against a CompressAI hyperprior.

Each model trains in its own subprocess (`python -m bench.training ...`), so the peak resident
set size it reports is that model's alone. The c2f step is the training loop's: all levels,
the frozen classifier in the loss (C2FLoss, the paper's released hierarchy for the coarse
levels), one backward, gradient clipping, main and aux Adam steps. The baseline is
mbt2018-mean (MeanScaleHyperprior) with the same N and M trained on MSE + rate
(compressai.losses.RateDistortionLoss) with the same optimiser steps.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .common import DEFAULT_CONFIG, DEFAULT_MANIFEST, REPO_ROOT, Target, load_config, peak_rss_mb

STEP_RATIO_TARGET = Target(1.4, "<= 1.4x the hyperprior")
MODELS = ("c2f", "hyperprior")
TASK_LEVEL_MODES = ("all", "random", "none")  # classifier on every level, on one drawn level, not at all


def paper_level_maps(num_coarse_levels: int) -> list[np.ndarray]:
    """Class -> cluster maps of the paper's released hierarchy (K=10, K=100)."""
    from coarse2fine.hierarchy.paper import paper_level_maps as maps

    return maps(num_coarse_levels)


def fixed_batches(manifest: Path, batch_size: int, crop: int, count: int, seed: int = 0):
    """`count` batches of labelled training views (crop x crop), loaded before timing starts."""
    from coarse2fine.imaging.view import StudyView
    from coarse2fine.training.data import ViewDataset

    dataset = ViewDataset(manifest, ("train",), StudyView(crop), seed=seed)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed)).tolist()
    batches = []
    for b in range(count):
        items = [dataset[(order[(b * batch_size + i) % len(order)], 0)] for i in range(batch_size)]
        batches.append((torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])))
    return batches


def _view(config: dict):
    from coarse2fine.imaging.view import StudyView

    return StudyView.from_settings(config.get("view"))


def build_model_and_loss(model: str, config: dict, task_levels: str):
    from compressai.losses import RateDistortionLoss
    from compressai.models import MeanScaleHyperprior

    from coarse2fine.models import C2FLoss, build_codec

    architecture = config["codecs"]["c2f"]["architecture"]
    train = config["train"]
    if model == "c2f":
        from coarse2fine.classify import load_classifier

        codec = build_codec(**architecture)
        # "none": the same codec and rate-distortion terms without the classifier, which
        # separates the codec's own cost from the classifier's
        with_task = task_levels != "none"
        task_weights = (
            config["codecs"]["c2f"]["task_weights"] if with_task else [0.0] * len(architecture["level_blocks"])
        )
        loss = C2FLoss(
            train["lambdas"],
            train["mse_weights"],
            task_weights,
            classifier=load_classifier(train["classifier"]) if with_task else None,
            level_maps=paper_level_maps(len(architecture["level_blocks"]) - 1),
            label_smoothing=train["label_smoothing"],
            classifier_size=train["classifier_size"],
            task_levels=task_levels if with_task else "all",
            view=_view(config),
        )
        return codec, lambda out, x, labels: loss(out, x, labels)["loss"]
    if model == "hyperprior":
        codec = MeanScaleHyperprior(architecture["N"], architecture["M"])
        # the finest level's lambda and MSE weight: the c2f codec's full-quality operating point
        rd = RateDistortionLoss(lmbda=train["lambdas"][-1] * train["mse_weights"][-1])
        return codec, lambda out, x, labels: rd(out, x)["loss"]
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def time_steps(
    model: str,
    config: dict,
    manifest: Path,
    batch_size: int,
    crop: int,
    steps: int,
    warmup_steps: int,
    task_levels: str = "all",
) -> dict:
    """Median seconds per optimiser step after `warmup_steps` untimed steps."""
    if steps < 1 or warmup_steps < 0:
        raise ValueError(f"need steps >= 1 and warmup_steps >= 0, got {steps} and {warmup_steps}")
    torch.manual_seed(0)
    codec, loss_fn = build_model_and_loss(model, config, task_levels)
    codec.train()
    main = [p for n, p in codec.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in codec.named_parameters() if n.endswith(".quantiles")]
    optimizer = torch.optim.Adam(main, lr=config["train"]["lr"])
    aux_optimizer = torch.optim.Adam(aux, lr=config["train"]["aux_lr"])
    batches = fixed_batches(manifest, batch_size, crop, min(steps + warmup_steps, 4))
    times = []
    for step in range(warmup_steps + steps):
        x, labels = batches[step % len(batches)]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        aux_optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(codec(x), x, labels)
        (loss + codec.aux_loss()).backward()
        torch.nn.utils.clip_grad_norm_(main, config["train"]["grad_clip"])
        optimizer.step()
        aux_optimizer.step()
        if step >= warmup_steps:
            times.append(time.perf_counter() - start)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{model}: loss became {float(loss)} at step {step + 1}")
    return {
        "model": model,
        "task_levels": task_levels if model == "c2f" else None,
        "batch_size": batch_size,
        "crop": crop,
        "steps": steps,
        "warmup_steps": warmup_steps,
        "threads": torch.get_num_threads(),
        "sec_per_step": float(np.median(times)),
        "sec_per_step_all": times,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_in_subprocess(
    model: str,
    *,
    config: Path,
    manifest: Path,
    batch_size: int,
    crop: int,
    steps: int,
    warmup_steps: int,
    threads: int,
    task_levels: str = "all",
) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.training",
        "--model",
        model,
        "--config",
        str(config),
        "--manifest",
        str(manifest),
        "--batch-size",
        str(batch_size),
        "--crop",
        str(crop),
        "--steps",
        str(steps),
        "--warmup-steps",
        str(warmup_steps),
        "--threads",
        str(threads),
        "--task-levels",
        task_levels,
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"training benchmark of {model} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    *,
    config: Path,
    manifest: Path,
    batch_size: int,
    crop: int,
    steps: int,
    warmup_steps: int,
    threads: int,
    task_levels: list[str],
) -> dict:
    """The hyperprior once, the c2f codec once per task-level mode; ratios against the hyperprior."""
    common = dict(
        config=config,
        manifest=manifest,
        batch_size=batch_size,
        crop=crop,
        steps=steps,
        warmup_steps=warmup_steps,
        threads=threads,
    )
    baseline = measure_in_subprocess("hyperprior", **common)
    rows = [baseline]
    for mode in task_levels:
        row = measure_in_subprocess("c2f", task_levels=mode, **common)
        row["over_hyperprior"] = row["sec_per_step"] / baseline["sec_per_step"]
        row["peak_rss_over_hyperprior"] = row["peak_rss_mb"] / baseline["peak_rss_mb"]
        # the target is for the classifier on every level
        row.update(STEP_RATIO_TARGET.check(row["over_hyperprior"]) if mode == "all" else {})
        rows.append(row)
    return {"rows": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--task-levels", choices=TASK_LEVEL_MODES, default="all")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = time_steps(
        args.model,
        load_config(args.config),
        args.manifest,
        args.batch_size,
        args.crop,
        args.steps,
        args.warmup_steps,
        args.task_levels,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
