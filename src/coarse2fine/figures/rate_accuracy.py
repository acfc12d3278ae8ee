"""Rate-accuracy figures from the summary table (evaluate.table): one function per figure.

Each codec is a line of (mean bpp, mean metric) points with its bootstrap confidence band; the
uncompressed reference is a dashed horizontal line. A codec split by level contributes, in the
panel of level k, the prefixes that decode to level k (evaluate.table.curve). A recipe trained
with several seeds (c2f, c2f_seed1, ...) is one line, the mean over its seeds at each rate point,
with the range over the seeds as its band (styles.py gives each line its colour and dashes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from coarse2fine.evaluate.tables.summary import curve  # noqa: E402
from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC  # noqa: E402
from coarse2fine.figures.styles import codec_styles, families, legend_outside  # noqa: E402


def save_figure(fig, stem: Path) -> list[Path]:
    """Write PNG (for the report and README) and PDF (for print) beside each other."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return paths


def family_curve(summary: pd.DataFrame, members: list[str], classifier: str, level: int, metric: str):
    """The points of a seed family at one level, one per rate point: bpp and metric averaged over
    the seeds evaluated there; the band is the range over those seeds where there are several,
    else the one run's bootstrap interval over images (where the summary has one)."""
    points = pd.concat([curve(summary, codec, classifier, level) for codec in members])
    if metric not in points:  # a summary written before the metric was tabulated
        return points.iloc[0:0]
    points = points.dropna(subset=[metric])
    if points.empty:
        return points
    for end in ("lo", "hi"):
        points[f"{metric}_{end}"] = points.get(f"{metric}_{end}", points[metric])
    grouped = points.groupby("rate_point")
    seeds = grouped[metric].count()
    out = pd.DataFrame(
        {
            "bpp_actual": grouped["bpp_actual"].mean(),
            metric: grouped[metric].mean(),
            "band_lo": grouped[metric].min().where(seeds > 1, grouped[f"{metric}_lo"].first()),
            "band_hi": grouped[metric].max().where(seeds > 1, grouped[f"{metric}_hi"].first()),
            "seeds": seeds,
        }
    )
    return out.sort_values("bpp_actual")


def family_label(family: str, points: pd.DataFrame) -> str:
    most = int(points["seeds"].max())
    return family if most == 1 else f"{family} (mean of up to {most} seeds)"


def draw_reference(ax, summary: pd.DataFrame, classifier: str, metric: str, scale: float) -> None:
    """The uncompressed image's value: a dashed grey line across the panel."""
    reference = summary[(summary["codec"] == REFERENCE_CODEC) & (summary["classifier"] == classifier)]
    if metric in reference and not reference.empty and pd.notna(reference[metric].iloc[0]):
        ax.axhline(scale * reference[metric].iloc[0], color="0.3", linestyle="--", linewidth=1, label="uncompressed")


def rate_axis(ax) -> None:
    ax.set_xscale("log")
    # 1-2-5 ticks with plain numbers: default log minor labels collide on a narrow panel.
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("bits per pixel (actual bytes)")


def _draw_curves(ax, summary, classifier: str, level: int, metric: str, scale: float, groups: dict, styles: dict):
    for family, members in groups.items():
        points = family_curve(summary, members, classifier, level, metric)
        if points.empty:
            continue
        style = styles[family]
        ax.fill_between(
            points["bpp_actual"],
            scale * points["band_lo"],
            scale * points["band_hi"],
            color=style["color"],
            alpha=0.15,
            linewidth=0,
        )
        ax.plot(
            points["bpp_actual"],
            scale * points[metric],
            label=family_label(family, points),
            markersize=4,
            linewidth=1.4,
            **style,
        )
    draw_reference(ax, summary, classifier, metric, scale)
    rate_axis(ax)


def codec_groups(summary: pd.DataFrame, classifier: str) -> dict[str, list[str]]:
    """The codecs of the figures (the uncompressed view is a reference line), by seed family."""
    rows = summary[(summary["classifier"] == classifier) & (summary["codec"] != REFERENCE_CODEC)]
    return families(rows["codec"])


def check_classifier(summary: pd.DataFrame, classifier: str) -> None:
    if classifier not in set(summary["classifier"]):
        raise ValueError(f"classifier {classifier!r} is not in the summary ({sorted(set(summary['classifier']))})")


@dataclass(frozen=True)
class PanelRow:
    """One row of panels: which summary column to draw at each level, scaled and labelled."""

    metric_of_level: Callable[[int], str]
    ylabel: str
    scale: float = 1.0
    ylim: tuple[float, float] | None = None
    chance: bool = False  # a dotted line at 1 / clusters present (balanced accuracy's chance)


def draw_chance(ax, summary: pd.DataFrame, classifier: str, level: int, scale: float) -> None:
    """Balanced accuracy's chance at a level: one over the true clusters present."""
    column = f"clusters_L{level}"
    reference = summary[(summary["codec"] == REFERENCE_CODEC) & (summary["classifier"] == classifier)]
    if column in reference and not reference.empty and reference[column].iloc[0] > 0:
        ax.axhline(scale / reference[column].iloc[0], color="0.5", linestyle=":", linewidth=1, label="chance")


def _grid(summary, ks, classifier, rows: list[PanelRow], title: str, stem) -> list[Path]:
    """A panel per level (columns) and per row; one legend right of the panels."""
    check_classifier(summary, classifier)
    sns.set_theme(style="whitegrid", context="paper")
    groups = codec_groups(summary, classifier)
    styles = codec_styles(groups)
    fig, axes = plt.subplots(len(rows), len(ks), figsize=(4.2 * len(ks), 3.6 * len(rows)), sharey="row", squeeze=False)
    for row, panels in zip(rows, axes):
        for level, (k, ax) in enumerate(zip(ks, panels), start=1):
            _draw_curves(ax, summary, classifier, level, row.metric_of_level(level), row.scale, groups, styles)
            if row.chance:
                draw_chance(ax, summary, classifier, level, row.scale)
            ax.set_title(f"level {level}: K = {k}")
            ax.set_ylabel(row.ylabel)
            if row.ylim:
                ax.set_ylim(*row.ylim)
    legend_outside(fig, axes.flat)
    n = int(summary["n_images"].max())
    fig.suptitle(f"{title} ({classifier}, {n} images)")
    fig.tight_layout()
    return save_figure(fig, stem)


def top1_vs_bpp(summary: pd.DataFrame, ks: list[int], classifier: str, stem: Path) -> list[Path]:
    """The main figure: top-1 accuracy (prob-sum at coarse levels) against bpp, a panel per level."""
    row = PanelRow(lambda level: f"correct_L{level}", "top-1 accuracy (%)", 100.0, (0, 102))
    return _grid(summary, ks, classifier, [row], "Top-1 accuracy per level vs rate", stem)


def balanced_vs_bpp(summary: pd.DataFrame, ks: list[int], classifier: str, stem: Path) -> list[Path]:
    """The endpoint: balanced accuracy (mean recall over the true clusters present) against bpp,
    a panel per level; seeds of one recipe as their mean and range."""
    row = PanelRow(lambda level: f"balanced_L{level}", "balanced accuracy (%)", 100.0, (0, 102), chance=True)
    return _grid(summary, ks, classifier, [row], "Balanced accuracy per level vs rate", stem)


def quality_vs_bpp(summary: pd.DataFrame, ks: list[int], classifier: str, stem: Path) -> list[Path]:
    """PSNR (top row) and MS-SSIM (bottom row) of what each level's prefix decodes, against bpp."""
    rows = [PanelRow(lambda level: "psnr", "PSNR (dB)"), PanelRow(lambda level: "ms_ssim", "MS-SSIM")]
    return _grid(summary, ks, classifier, rows, "Reconstruction quality per level vs rate", stem)


def wu_palmer_vs_bpp(summary: pd.DataFrame, ks: list[int], classifier: str, stem: Path) -> list[Path]:
    """Wu-Palmer similarity of predicted and true class against bpp; a panel per level, where a
    codec split by level shows the prefix for that level (anchors are the same in every panel)."""
    row = PanelRow(lambda level: "wu_palmer", "Wu-Palmer similarity (WordNet)", 1.0, (0, 1.02))
    return _grid(summary, ks, classifier, [row], "Semantic closeness of the predicted class vs rate", stem)
