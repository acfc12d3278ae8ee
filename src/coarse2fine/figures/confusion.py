"""The coarse-level confusion figure: for the judge, at the coarsest level, the share of each
true cluster's images put in each predicted cluster, one panel per codec at the middle rate
point of its coarse prefix (the uncompressed view first). A codec whose coarse prefix only
shifts the prior shows one bright column; one that carries the coarse question, a diagonal.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


def coarse_confusion(table: pd.DataFrame, k: int, classifier: str, codecs: list[str], stem: Path) -> list[Path]:
    panels = coarse_views(table, classifier, codecs)
    if not panels:
        raise ValueError(f"no labelled views of {codecs} scored by {classifier} for the confusion figure")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), squeeze=False)
    clusters = list(range(k))
    for ax, (title, rows) in zip(axes[0], panels):
        truth, pred = rows["true_L1"].astype(int), rows["pred_L1"].astype(int)
        counts = confusion_matrix(truth, pred, labels=clusters).astype(float)
        shares_by_row = np.divide(
            counts, counts.sum(axis=1, keepdims=True), where=counts.sum(axis=1, keepdims=True) > 0
        )
        sns.heatmap(shares_by_row, ax=ax, vmin=0, vmax=1, cmap="viridis", cbar=False, square=True)
        modal = shares(pred)[0]
        ax.set_title(
            f"{title}\nbalanced {100 * balanced_accuracy(truth, pred):.0f} %, modal {100 * modal:.0f} %", fontsize=9
        )
        ax.set_xlabel("predicted cluster")
        ax.set_ylabel("true cluster")
    fig.suptitle(f"K={k}: share of each true cluster's images per predicted cluster ({classifier})", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem)
