"""Grid of reconstructions per level for a few images: what the classifier sees at each step.

Rows are images; the first column is the uncompressed evaluation crop, then the progressive
steps of one codec: a learned codec's prefixes level by level (at one rate point), or the
quality layers of JPEG 2000. Each title gives the bpp and, per level, whether the prob-sum
prediction is right, then the predicted class.

Beside it, equal_rate_grid sets the method's complete stream beside the ablation's and the
baselines' at about the same rate on the same image.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC  # noqa: E402
from coarse2fine.figures.rate_accuracy import save_figure  # noqa: E402


def progressive_steps(table: pd.DataFrame, codec: str, rate_point: str | None = None) -> pd.DataFrame:
    """Rows of `codec` that have a saved reconstruction, in decoding order. A codec split by level
    is shown at one rate point (the given one, or its highest), all levels; others at every rate point."""
    rows = table[(table["codec"] == codec) & table["recon_file"].notna()]
    if rows.empty:
        return rows
    if rows["level"].notna().any():
        chosen = rate_point or sorted(set(rows["rate_point"]))[-1]
        rows = rows[rows["rate_point"] == chosen]
        return rows.sort_values(["image", "level"])
    return rows.sort_values(["image", "bpp_actual"])


def _marks(row, num_levels: int) -> str:
    """Per level (L1 coarsest), whether the prob-sum prediction is right."""
    return " ".join(
        f"L{lv}{'✓' if row[f'correct_L{lv}'] == 1 else ('✗' if row[f'correct_L{lv}'] == 0 else '?')}"
        for lv in range(1, num_levels + 1)
    )


def _rate(row) -> str:
    return "24-bit RGB" if pd.isna(row["bpp_actual"]) else f"{row['bpp_actual']:.3f} bpp"


def _title(row, num_levels: int) -> str:
    if row["codec"] == REFERENCE_CODEC:
        step = REFERENCE_CODEC
    else:
        step = f"level {row['level']}" if pd.notna(row["level"]) else row["rate_point"]
    return f"{step}, {_rate(row)}\n{_marks(row, num_levels)}\n{row['predicted_label'][:22]}"


def reconstruction_grid(
    table: pd.DataFrame,
    ks: list[int],
    classifier: str,
    codec: str,
    stem: Path,
    max_images: int = 3,
    rate_point: str | None = None,
) -> list[Path]:
    """The grid for `codec` (see the module doc) from the per-image table of evaluate.table."""
    table = table[table["classifier"] == classifier]
    steps = progressive_steps(table, codec, rate_point)
    if steps.empty:
        raise ValueError(f"no saved reconstructions of codec {codec!r} for classifier {classifier!r}")
    images = list(dict.fromkeys(steps["image"]))[:max_images]
    references = table[(table["codec"] == REFERENCE_CODEC) & table["recon_file"].notna()].set_index("image")
    columns = 1 + max(int((steps["image"] == img).sum()) for img in images)
    fig, axes = plt.subplots(len(images), columns, figsize=(2.3 * columns, 3.1 * len(images)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for r, image in enumerate(images):
        shown = [references.loc[[image]].iloc[0]] if image in references.index else [None]
        shown += [row for _, row in steps[steps["image"] == image].iterrows()]
        for c, row in enumerate(shown):
            if row is None:
                continue
            ax = axes[r, c]
            ax.imshow(Image.open(Path(row["views_dir"]) / "recon" / row["recon_file"]))
            ax.set_title(_title(row, len(ks)), fontsize=7)
    fig.suptitle(f"Reconstructions per step: {codec} ({classifier}); K = {', '.join(map(str, ks))}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, stem)


# The codecs set beside the method at equal rate, in this order, where they were evaluated.
COMPARED_CODECS = ("c2f", "rd_only", "deephq", "rmpgc", "jpeg2000", "webp", "jpeg")


def complete_views(table: pd.DataFrame, codec: str, num_levels: int) -> pd.DataFrame:
    """A codec's saved views that decode its whole stream: the finest level's prefix where the
    codec is split by level (a coarser prefix answers another question), every rate point or
    quality layer otherwise."""
    rows = table[(table["codec"] == codec) & table["recon_file"].notna() & table["bpp_actual"].notna()]
    if rows["level"].notna().any():
        rows = rows[rows["level"] == num_levels]
    return rows


def nearest_in_rate(views: pd.DataFrame, bpp: float):
    """The view whose rate is closest to `bpp` by ratio (rates span decades)."""
    distance = (np.log(views["bpp_actual"].astype(float)) - np.log(bpp)).abs()
    return views.loc[distance.idxmin()]


def equal_rate_rows(table: pd.DataFrame, codecs: list[str], num_levels: int) -> list[tuple[str, list]]:
    """(image, views) per image: the uncompressed view, the first codec's complete stream at its
    middle rate point, then each other codec's complete view nearest to it in rate on that image."""
    method, others = codecs[0], codecs[1:]
    anchor = complete_views(table, method, num_levels)
    points = sorted(anchor["rate_point"].astype(str).unique(), key=lambda p: (len(p), p))
    anchor = anchor[anchor["rate_point"].astype(str) == points[len(points) // 2]]
    references = table[(table["codec"] == REFERENCE_CODEC) & table["recon_file"].notna()].set_index("image")
    rows = []
    for image, target in anchor.groupby("image", sort=False):
        target = target.iloc[0]
        shown = [references.loc[[image]].iloc[0] if image in references.index else None, target]
        for codec in others:
            views = complete_views(table[table["image"] == image], codec, num_levels)
            shown.append(nearest_in_rate(views, target["bpp_actual"]) if len(views) else None)
        rows.append((image, shown))
    return rows


def _equal_rate_title(row, num_levels: int) -> str:
    name = row["codec"] if row["codec"] == REFERENCE_CODEC else f"{row['codec']} {row['rate_point']}"
    quality = "" if pd.isna(row.get("psnr", np.nan)) else f", {row['psnr']:.1f} dB"
    return f"{name}\n{_rate(row)}{quality}\n{_marks(row, num_levels)}\n{row['predicted_label'][:22]}"


def equal_rate_grid(
    table: pd.DataFrame, ks: list[int], classifier: str, codecs: list[str], stem: Path, max_images: int = 3
) -> list[Path]:
    """The method's reconstructions beside the other codecs' at about its rate: rows are images;
    columns the uncompressed crop, the method's complete stream at its middle rate point, and each
    other codec's complete view nearest to it in rate on that image."""
    table = table[table["classifier"] == classifier]
    codecs = [c for c in codecs if len(complete_views(table, c, len(ks)))]
    if not codecs:
        raise ValueError(f"no saved reconstructions of the compared codecs for classifier {classifier!r}")
    rows = equal_rate_rows(table, codecs, len(ks))[:max_images]
    columns = 1 + len(codecs)
    fig, axes = plt.subplots(len(rows), columns, figsize=(2.3 * columns, 3.2 * len(rows)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for r, (_, shown) in enumerate(rows):
        for c, row in enumerate(shown):
            if row is None:
                continue
            axes[r, c].imshow(Image.open(Path(row["views_dir"]) / "recon" / row["recon_file"]))
            axes[r, c].set_title(_equal_rate_title(row, len(ks)), fontsize=7)
    fig.suptitle(
        f"At about equal rate: {codecs[0]} beside {', '.join(codecs[1:]) or 'no other codec'} ({classifier})",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, stem)
