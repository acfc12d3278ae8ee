"""The receiver figure: bits read against top-1 of the answer, one line per progressive stream
over the thresholds (evaluate/reports/receiver_table.py), its last point reading everything.

    python -m coarse2fine.figures receiver --table results/metrics/tables/<h>/receiver/receiver.csv \
        --output results/figures/<h>/receiver
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .rate_accuracy import save_figure  # noqa: E402


def receiver_figure(frame: pd.DataFrame, stem: Path) -> list[Path]:
    frame = frame.assign(
        stream=[f"{c} {r}".strip() if isinstance(r, str) else c for c, r in zip(frame["codec"], frame["rate_point"])]
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    palette = dict(zip(frame["stream"].unique(), sns.color_palette("tab20", frame["stream"].nunique())))
    for stream, rows in frame.groupby("stream", sort=False):
        everything = rows["threshold"].astype(str) == "everything"
        for ax, metric in zip(axes, ("top1", "agreement")):
            ax.plot(rows["bpp"], 100 * rows[metric], "-o", ms=3, color=palette[stream], label=stream)
            ax.plot(rows.loc[everything, "bpp"], 100 * rows.loc[everything, metric], "s", ms=7, color=palette[stream])
    axes[0].set_ylabel("top-1 of the answer at its level (%)")
    axes[1].set_ylabel("agreement with the uncompressed photo (%)")
    for ax in axes:
        ax.set_xlabel("bits per pixel read")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=2, frameon=False)
    fig.suptitle("Confidence-driven receiver: each line runs over the thresholds; squares read everything", fontsize=10)
    return save_figure(fig, stem)


def add_arguments(parser) -> None:
    parser.add_argument("--table", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True, help="path without suffix: .png and .pdf are written")


def run_command(args) -> int:
    receiver_figure(
        pd.read_csv(args.table, dtype={"rate_point": str}, keep_default_na=False, na_values=[""]), args.output
    )
    return 0
