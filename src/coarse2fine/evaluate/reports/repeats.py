"""The claim over training seeds: the method against its ablation, averaged over repeated runs.

One training run of each codec gives one paired difference per image; how far that difference
moves when the same recipe is trained again with another seed is part of the answer. Where the
study trains repeats (codecs that differ from the method only in their seed, each with the
ablation of its own seed; config/seeds.yaml), this averages, image by image, the difference of
every (method, ablation) run pair at each level and rate point they share. The interval is a
bootstrap over images and runs together: each resample draws images (the same for every run)
and runs (method and ablation of a run together), so it covers both the photos and the seeds.
Balanced scores (scores.py) are computed per run on the resampled images, then differenced.
The per-run differences are listed beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coarse2fine.evaluate.reports.claim_stats import interval
from coarse2fine.evaluate.tables.scores import SCORES, Score, curve_truth


def run_matrices(judged: pd.DataFrame, pairs, level: int, score: Score):
    """(images, rate points, method values (runs, images, rps), ablation values, truths (runs,
    images)) of every run pair at a level, on the images and rate points all runs share."""
    frames, truths = [], []
    rows = judged[judged["level"] == level]
    for method, ablation in pairs:
        pair = [
            rows[rows["codec"] == codec].pivot_table(
                index="image", columns="rate_point", values=score.at(level), aggfunc="first", dropna=False
            )
            for codec in (method, ablation)
        ]
        frames.append(pair)
        truths.append(curve_truth(judged, method, level, score))
    rps = sorted(set.intersection(*(set(f.columns) for pair in frames for f in pair)))
    images = sorted(set.intersection(*(set(f[rps].dropna().index) for pair in frames for f in pair)))
    method = np.stack([pair[0].loc[images, rps].to_numpy(float) for pair in frames])
    ablation = np.stack([pair[1].loc[images, rps].to_numpy(float) for pair in frames])
    truth = None if truths[0] is None else np.stack([t.reindex(images).to_numpy(float) for t in truths])
    return images, rps, method, ablation, truth


def run_differences(score: Score, method, ablation, truth, images, runs) -> np.ndarray:
    """Method minus ablation (points) per drawn run and rate point, on the drawn images."""
    out = []
    for r in runs:
        t = None if truth is None else truth[r][images]
        out.append(score.aggregate(method[r][images], t) - score.aggregate(ablation[r][images], t))
    return 100 * np.array(out)


def seed_averaged(
    judged: pd.DataFrame,
    pairs: list[tuple[str, str]],
    ks: list[int],
    bootstrap: int,
    confidence: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per (level, score, rate point) every pair was scored at, and one per (level,
    score) averaged over the rate points ("mean"): the run-averaged difference (points) with its
    bootstrap interval over images and runs, and each run's own difference."""
    rows = []
    for level, k in enumerate(ks, start=1):
        for score in SCORES:
            images, rps, method, ablation, truth = run_matrices(judged, pairs, level, score)
            if not images or not rps:
                continue
            n, n_runs = len(images), len(pairs)
            every = np.arange(n)
            per_run = run_differences(score, method, ablation, truth, every, range(n_runs))  # (runs, rps)
            boot = np.array(
                [
                    run_differences(
                        score, method, ablation, truth, rng.integers(0, n, n), rng.integers(0, n_runs, n_runs)
                    ).mean(axis=0)
                    for _ in range(bootstrap)
                ]
            )  # (bootstrap, rps)
            columns = [(rp, per_run[:, j], boot[:, j]) for j, rp in enumerate(rps)]
            columns.append(("mean", per_run.mean(axis=1), boot.mean(axis=1)))
            for rp, runs, draws in columns:
                lo, hi = interval(draws, confidence)
                rows.append(
                    {
                        "level": level,
                        "K": k,
                        "metric": score.name,
                        "rate_point": rp,
                        "runs": n_runs,
                        "n": n,
                        "diff": float(np.mean(runs)),
                        "diff_lo": lo,
                        "diff_hi": hi,
                        "per_run": [float(v) for v in runs],
                    }
                )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, pairs: list[tuple[str, str]], confidence: float) -> list[str]:
    if table.empty:
        return []
    runs = ", ".join(f"{m} - {a}" for m, a in pairs)
    lines = [
        "",
        f"## Over training seeds: the difference averaged over {len(pairs)} runs ({runs})",
        "",
        f"The mean over runs of method minus ablation; {confidence:.0%} bootstrap over images and runs together "
        "(rate point `mean`: averaged over the rate points all runs share).",
        "",
        "| level | K | metric | rate point | images | seed-averaged difference [CI] points | per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        per_run = ", ".join(f"{v:+.1f}" for v in r.per_run)
        lines.append(
            f"| {r.level} | {r.K} | {r.metric} | {r.rate_point} | {r.n} | "
            f"{r.diff:+.1f} [{r.diff_lo:+.1f}, {r.diff_hi:+.1f}] | {per_run} |"
        )
    return lines
