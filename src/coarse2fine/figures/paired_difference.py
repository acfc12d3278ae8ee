"""The paired-difference figure: the method minus its ablation (c2f minus rd_only), image by
image, per level and rate point, with its bootstrap interval; one marker per training seed's run
pair and, where the study trains repeats, their seed-averaged difference (pooled over images and
seeds). Read from the claim's tables (evaluate/reports/claim.py: claim_runs.csv, claim_seeds.csv),
which computed every interval; nothing is resampled here.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from coarse2fine.figures.rate_accuracy import save_figure  # noqa: E402
from coarse2fine.figures.styles import codec_styles, legend_outside  # noqa: E402

# the endpoint (balanced accuracy) under the plain top-1 it guards
METRICS = ("top-1", "balanced top-1")
POOLED = {"color": "black", "marker": "D", "linestyle": "none"}


def read_claim(claim_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every run pair's differences, the seed-averaged ones) of one claim's tables."""
    runs = pd.read_csv(Path(claim_dir) / "claim_runs.csv", dtype={"rate_point": str})
    pooled = pd.read_csv(Path(claim_dir) / "claim_seeds.csv", dtype={"rate_point": str})
    return runs, pooled[pooled["rate_point"] != "mean"]  # the rate-point average has no place on the axis


def rate_positions(runs: pd.DataFrame) -> dict[str, int]:
    """x position per rate point, in rate order (rp0, rp1, ..., rp10)."""
    points = sorted(runs["rate_point"].unique(), key=lambda p: (len(p), p))
    return {p: i for i, p in enumerate(points)}


def draw_interval(ax, x: float, rows: pd.DataFrame, label: str, style: dict, size: float) -> None:
    """Differences with their intervals at x (points), as error bars."""
    below, above = (rows["diff"] - rows["diff_lo"]), (rows["diff_hi"] - rows["diff"])
    ax.errorbar(
        [x] * len(rows),
        rows["diff"].to_numpy(float),
        # a percentile interval of a balanced score need not hold its point estimate: no negative bar
        yerr=[below.clip(lower=0).to_numpy(float), above.clip(lower=0).to_numpy(float)],
        color=style["color"],
        marker=style["marker"],
        linestyle="none",
        markersize=size,
        capsize=2,
        label=label,
    )


def draw_panel(ax, runs: pd.DataFrame, pooled: pd.DataFrame, positions: dict, styles: dict) -> None:
    """One level and metric: each run pair's difference per rate point beside the others (a
    small offset apart), the pooled one right of them."""
    pairs = list(styles)
    width = 0.6 / (len(pairs) + 1)
    for i, pair in enumerate(pairs):
        method, ablation = pair.split(" - ")
        rows = runs[(runs["method"] == method) & (runs["ablation"] == ablation)]
        for rp, at in rows.groupby("rate_point"):
            draw_interval(ax, positions[rp] - 0.3 + width * (i + 0.5), at, pair, styles[pair], 4)
    for rp, at in pooled.groupby("rate_point"):
        label = f"seed-averaged ({int(at['runs'].iloc[0])} runs)"
        draw_interval(ax, positions[rp] + 0.3 - width / 2, at, label, POOLED, 5)
    ax.axhline(0, color="0.3", linewidth=1)


def rate_labels(runs: pd.DataFrame, positions: dict) -> list[str]:
    """Each rate point with the mean bpp of the method's prefix there (the panel's first run pair)."""
    first = runs[runs["method"] == runs["method"].iloc[0]]
    bpp = first.groupby("rate_point")["bpp_method"].mean()
    return [f"{rp}\n{bpp[rp]:.3f} bpp" if rp in bpp else rp for rp in positions]


def paired_difference(runs: pd.DataFrame, pooled: pd.DataFrame, stem: Path) -> list[Path]:
    """The figure: a row per metric (top-1, balanced top-1), a panel per level."""
    sns.set_theme(style="whitegrid", context="paper")
    levels = runs[["level", "K"]].drop_duplicates().sort_values("level")
    positions = rate_positions(runs)
    pair_names = list(dict.fromkeys(f"{m} - {a}" for m, a in zip(runs["method"], runs["ablation"])))
    styles = codec_styles(pair_names)
    fig, axes = plt.subplots(
        len(METRICS), len(levels), figsize=(3.8 * len(levels), 3.2 * len(METRICS)), squeeze=False, sharey="row"
    )
    for metric, panels in zip(METRICS, axes):
        for (level, k), ax in zip(levels.itertuples(index=False), panels):
            chosen = [frame[(frame["level"] == level) & (frame["metric"] == metric)] for frame in (runs, pooled)]
            draw_panel(ax, *chosen, positions, styles)
            ax.set_xticks(list(positions.values()), rate_labels(chosen[0] if len(chosen[0]) else runs, positions))
            ax.set_xlim(-0.5, len(positions) - 0.5)
            ax.set_title(f"level {level}: K = {k}, {metric}")
            ax.set_ylabel("difference (points)")
    legend_outside(fig, axes.flat)
    method, ablation = runs["method"].iloc[0], runs["ablation"].iloc[0]
    fig.suptitle(f"{method} minus {ablation}, image by image, per rate point (95% bootstrap intervals)")
    fig.tight_layout()
    return save_figure(fig, stem)


def no_claim(stem: Path) -> list[Path]:
    """The figure's place when the run has no claim (no judge, or the method or its ablation
    was not trained): a note that says so."""
    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, "No claim in this run: no judge, or the method or its ablation untrained", ha="center")
    return save_figure(fig, stem)


def claim_figure(claim_dir: Path | None, stem: Path) -> list[Path]:
    """The figure of a claim's tables, or the note where the run has no claim or its run pairs
    share no rate point."""
    if claim_dir is None:
        return no_claim(stem)
    runs, pooled = read_claim(claim_dir)
    return paired_difference(runs, pooled, stem) if len(runs) else no_claim(stem)
