"""Rate-accuracy figures from the summary table (evaluate.table): one function per figure.

Each codec is a line of (mean bpp, mean metric) points with its bootstrap confidence band; the
uncompressed reference is a dashed horizontal line. A codec split by level contributes, in the
panel of level k, the prefixes that decode to level k (evaluate.table.curve).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from coarse2fine.evaluate.tables.summary import curve  # noqa: E402
from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC  # noqa: E402


def save_figure(fig, stem: Path) -> list[Path]:
    """Write PNG (for the report and README) and PDF (for print) beside each other."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return paths


def _codec_palette(codecs) -> dict:
    return dict(zip(codecs, sns.color_palette("tab10", len(codecs))))


def _draw_curves(ax, summary: pd.DataFrame, classifier: str, level: int, metric: str, scale: float, palette: dict):
    for codec, colour in palette.items():
        points = curve(summary, codec, classifier, level)
        if points.empty:
            continue
        ax.fill_between(
            points["bpp_actual"],
            scale * points[f"{metric}_lo"],
            scale * points[f"{metric}_hi"],
            color=colour,
            alpha=0.15,
            linewidth=0,
        )
        sns.lineplot(
            x=points["bpp_actual"],
            y=scale * points[metric],
            ax=ax,
            color=colour,
            marker="o",
            label=codec,
            estimator=None,
            sort=True,
        )
    reference = summary[(summary["codec"] == REFERENCE_CODEC) & (summary["classifier"] == classifier)]
    if not reference.empty and pd.notna(reference[metric].iloc[0]):
        ax.axhline(scale * reference[metric].iloc[0], color="0.3", linestyle="--", linewidth=1, label="uncompressed")
    ax.set_xscale("log")
    # 1-2-5 ticks with plain numbers: default log minor labels collide on a narrow panel.
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("bits per pixel (actual bytes)")


def _codecs(summary: pd.DataFrame, classifier: str) -> list[str]:
    rows = summary[(summary["classifier"] == classifier) & (summary["codec"] != REFERENCE_CODEC)]
    return sorted(set(rows["codec"]))


def _panels(summary, ks, classifier, metric_of_level, scale, ylabel, ylim, title, stem) -> list[Path]:
    if classifier not in set(summary["classifier"]):
        raise ValueError(f"classifier {classifier!r} is not in the summary ({sorted(set(summary['classifier']))})")
    sns.set_theme(style="whitegrid", context="paper")
    palette = _codec_palette(_codecs(summary, classifier))
    fig, axes = plt.subplots(1, len(ks), figsize=(4.2 * len(ks), 3.6), sharey=True, squeeze=False)
    for level, (k, ax) in enumerate(zip(ks, axes[0]), start=1):
        _draw_curves(ax, summary, classifier, level, metric_of_level(level), scale, palette)
        ax.set_title(f"level {level}: K = {k}")
        ax.set_ylabel(ylabel)
        ax.set_ylim(*ylim)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    axes[0, -1].legend(loc="lower right", fontsize=8)  # after axhline, so the reference is listed too
    n = int(summary["n_images"].max())
    fig.suptitle(f"{title} ({classifier}, {n} images, 95% bootstrap CI)")
    return save_figure(fig, stem)


def top1_vs_bpp(summary: pd.DataFrame, ks: list[int], classifier: str, stem: Path) -> list[Path]:
    """The main figure: top-1 accuracy (prob-sum at coarse levels) against bpp, a panel per level."""
    return _panels(
        summary,
        ks,
        classifier,
        lambda level: f"correct_L{level}",
        100.0,
        "top-1 accuracy (%)",
        (0, 102),
        "Top-1 accuracy per level vs rate",
        stem,
    )


def wu_palmer_vs_bpp(summary: pd.DataFrame, ks: list[int], classifier: str, stem: Path) -> list[Path]:
    """Wu-Palmer similarity of predicted and true class against bpp; a panel per level, where a
    codec split by level shows the prefix for that level (anchors are the same in every panel)."""
    return _panels(
        summary,
        ks,
        classifier,
        lambda level: "wu_palmer",
        1.0,
        "Wu-Palmer similarity (WordNet)",
        (0, 1.02),
        "Semantic closeness of the predicted class vs rate",
        stem,
    )
