"""The claim over training seeds: the method against its ablation, averaged over repeated runs.

One training run of each codec gives one paired difference per image; how far that difference
moves when the same recipe is trained again with another seed is part of the answer. Where the
study trains repeats (codecs that differ from the method only in their seed, each with the
ablation of its own seed; config/seeds.yaml), this averages, image by image, the difference of
every (method, ablation) run pair at each level and rate point they share, and bootstraps the
images of that seed-averaged difference. The interval covers the image sample for these runs;
with a handful of seeds the spread between runs is shown beside it, not modelled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coarse2fine.evaluate.claim_stats import interval


def seed_averaged(
    judged: pd.DataFrame,
    pairs: list[tuple[str, str]],
    ks: list[int],
    bootstrap: int,
    confidence: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per (level, metric, rate point) every pair was scored at: the seed-averaged
    difference (points) with its bootstrap interval, and each run's own difference."""
    rows = []
    for level, k in enumerate(ks, start=1):
        for what, metric in (("top-1", f"correct_L{level}"), ("agreement", f"agree_L{level}")):
            per_run = []
            for method, ablation in pairs:
                values = [
                    judged[(judged["codec"] == codec) & (judged["level"] == level)].pivot_table(
                        index="image", columns="rate_point", values=metric, aggfunc="first"
                    )
                    for codec in (method, ablation)
                ]
                per_run.append((values[0] - values[1]) * 100)
            shared = sorted(set.intersection(*(set(d.columns) for d in per_run)))
            for rp in shared:
                runs = pd.concat([d[rp] for d in per_run], axis=1).dropna()
                if runs.empty:
                    continue
                mean = runs.mean(axis=1).to_numpy()
                draws = rng.integers(0, len(mean), size=(bootstrap, len(mean)))
                lo, hi = interval(mean[draws].mean(axis=1), confidence)
                rows.append(
                    {
                        "level": level,
                        "K": k,
                        "metric": what,
                        "rate_point": rp,
                        "runs": len(pairs),
                        "n": len(mean),
                        "diff": float(mean.mean()),
                        "diff_lo": lo,
                        "diff_hi": hi,
                        "per_run": [float(v) for v in runs.mean(axis=0)],
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
        f"Image by image, the mean over runs of method minus ablation; {confidence:.0%} bootstrap over images "
        "(the run-to-run spread is the per-run column, not part of the interval).",
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
