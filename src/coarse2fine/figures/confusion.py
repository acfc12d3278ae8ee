"""The coarse-level confusion figure: for the judge, at the coarsest level, the share of each
true cluster's images put in each predicted cluster (colour, with its colour bar) and their
count (the number in the cell), one panel per codec at the middle rate point of its coarse
prefix (the uncompressed view first). Only the clusters present are shown: a row per true
cluster among the photos, a column per cluster predicted. A codec whose coarse prefix only
shifts the prior shows one bright column; one that carries the coarse question, a diagonal.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from coarse2fine.evaluate.tables.cluster_prior import balanced_accuracy, shares  # noqa: E402
from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC  # noqa: E402
from coarse2fine.figures.rate_accuracy import save_figure  # noqa: E402


def coarse_views(table: pd.DataFrame, classifier: str, codecs: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """(panel title, rows) per codec: the uncompressed view, then each codec's coarse prefix at
    its middle rate point (a codec not split by level: its middle rate point)."""
    judged = table[(table["classifier"] == classifier) & table["true_L1"].notna()]
    panels = []
    for codec in [REFERENCE_CODEC, *codecs]:
        rows = judged[judged["codec"] == codec]
        if rows.empty:
            continue
        if rows["level"].notna().any():
            rows = rows[rows["level"] == 1]
        points = sorted(rows["rate_point"].astype(str).unique(), key=lambda p: (len(p), p))
        middle = points[len(points) // 2]
        rows = rows[rows["rate_point"].astype(str) == middle]
        title = codec if codec == REFERENCE_CODEC else f"{codec} {middle}, {rows['bpp_actual'].mean():.3f} bpp"
        panels.append((title, rows))
    return panels


def present_confusion(truth: pd.Series, pred: pd.Series) -> pd.DataFrame:
    """Photo counts, true clusters (rows) x predicted clusters (columns), of the clusters present:
    a row for each true cluster among the photos, a column for each cluster predicted at least
    once, so that no row or column is empty."""
    rows, columns = sorted(truth.unique()), sorted(pred.unique())
    counts = confusion_matrix(truth, pred, labels=sorted(set(rows) | set(columns)))
    frame = pd.DataFrame(counts, index=sorted(set(rows) | set(columns)), columns=sorted(set(rows) | set(columns)))
    return frame.loc[rows, columns]


def draw_confusion(ax, counts: pd.DataFrame):
    """The share of each true cluster's photos per predicted cluster as colour, the photo count
    written in each non-empty cell (a share of 1 may be one photo of a tiny cluster)."""
    shares_by_row = counts.div(counts.sum(axis=1), axis=0)
    shares_by_row.index = [f"{c} ({counts.loc[c].sum()})" for c in counts.index]
    labels = counts.map(lambda n: str(n) if n else "")
    sns.heatmap(
        shares_by_row,
        xticklabels=True,
        yticklabels=True,
        ax=ax,
        vmin=0,
        vmax=1,
        cmap="viridis",
        cbar=False,
        annot=labels,
        fmt="",
        annot_kws={"fontsize": 7},
        linewidths=0.5,
        linecolor="white",
    )
    ax.set_xlabel("predicted cluster")
    ax.set_ylabel("true cluster (photos)")
    ax.tick_params(axis="y", labelrotation=0)
    return ax.collections[0]


def coarse_confusion(table: pd.DataFrame, k: int, classifier: str, codecs: list[str], stem: Path) -> list[Path]:
    panels = coarse_views(table, classifier, codecs)
    if not panels:
        raise ValueError(f"no labelled views of {codecs} scored by {classifier} for the confusion figure")
    sns.set_theme(style="white", context="paper")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.9 * len(panels) + 1, 3.9), squeeze=False, layout="constrained")
    mappable = None
    for ax, (title, rows) in zip(axes[0], panels):
        truth, pred = rows["true_L1"].astype(int), rows["pred_L1"].astype(int)
        mappable = draw_confusion(ax, present_confusion(truth, pred))
        modal = shares(pred)[0]
        ax.set_title(
            f"{title}\nbalanced {100 * balanced_accuracy(truth, pred):.0f} %, modal {100 * modal:.0f} %", fontsize=9
        )
    fig.colorbar(mappable, ax=list(axes[0]), label="share of the true cluster's photos", shrink=0.8)
    fig.suptitle(
        f"K={k}: photos of each true cluster per predicted cluster, clusters present only ({classifier})", fontsize=10
    )
    return save_figure(fig, stem)
