"""Grid of reconstructions per level for a few images: what the classifier sees at each step.

Rows are images; the first column is the uncompressed evaluation crop, then the progressive
steps of one codec: a learned codec's prefixes level by level (at one rate point), or the
quality layers of JPEG 2000. Each title gives the bpp and, per level, whether the prob-sum
prediction is right, then the predicted class.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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


def _title(row, num_levels: int) -> str:
    marks = " ".join(
        f"L{lv}{'✓' if row[f'correct_L{lv}'] == 1 else ('✗' if row[f'correct_L{lv}'] == 0 else '?')}"
        for lv in range(1, num_levels + 1)
    )
    rate = "24-bit RGB" if pd.isna(row["bpp_actual"]) else f"{row['bpp_actual']:.3f} bpp"
    if row["codec"] == REFERENCE_CODEC:
        step = REFERENCE_CODEC
    else:
        step = f"level {row['level']}" if pd.notna(row["level"]) else row["rate_point"]
    return f"{step}, {rate}\n{marks}\n{row['predicted_label'][:22]}"


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
