"""The training curves: the loss, the full stream's rate and PSNR, and the coarse level's task
loss against the step, one line per trained codec model (colour: codec; dashes: rate point).

    python -m coarse2fine.figures training --logs results/checkpoints/<id>/log.csv ... \
        --output results/figures/<h>/training_curves
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .rate_accuracy import save_figure  # noqa: E402

CHECKPOINTS = "checkpoints"


def model_of(log: Path) -> tuple[str, str]:
    """(codec, rate point) of results/checkpoints/<codec>[/<hierarchy>]/rp<N>/log.csv."""
    parts = Path(log).parent.parts
    inside = parts[parts.index(CHECKPOINTS) + 1 :] if CHECKPOINTS in parts else parts[-2:]
    rate_point = inside[-1] if len(inside) > 1 and inside[-1].startswith("rp") else ""
    return inside[0], rate_point


def read_logs(logs: list[Path]) -> pd.DataFrame:
    frames = []
    for log in logs:
        codec, rate_point = model_of(log)
        frames.append(pd.read_csv(log).assign(codec=codec, rate_point=rate_point or "-"))
    return pd.concat(frames, ignore_index=True)


def training_figure(frame: pd.DataFrame, stem: Path) -> list[Path]:
    levels = sorted(int(c.split("_")[1]) for c in frame.columns if c.startswith("bpp_"))
    full = levels[-1]
    panels = [
        ("loss", "training loss (rate + distortion + task)", True),
        (f"bpp_{full}", "bits per pixel, whole stream (training estimate)", False),
        (f"psnr_{full}", "PSNR of the whole stream (dB)", False),
        ("task_1", "coarse level's task loss (codecs with a task term)", False),
    ]
    panels = [p for p in panels if p[0] in frame.columns and frame[p[0]].notna().any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    palette = dict(zip(frame["codec"].unique(), sns.color_palette("tab10", frame["codec"].nunique())))
    for ax, (column, title, log_scale) in zip(axes[0], panels):
        sns.lineplot(
            data=frame,
            x="step",
            y=column,
            hue="codec",
            style="rate_point",
            palette=palette,
            ax=ax,
            legend=ax is axes[0][0],
            linewidth=1,
        )
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("")
        ax.grid(alpha=0.3)
        if log_scale:
            ax.set_yscale("log")
    if axes[0][0].get_legend() is not None:
        axes[0][0].legend(fontsize=7, frameon=False)
    return save_figure(fig, stem)


def add_arguments(parser) -> None:
    parser.add_argument("--logs", type=Path, nargs="+", required=True, help="log.csv of each trained model")
    parser.add_argument("--output", type=Path, required=True, help="path without suffix: .png and .pdf are written")


def run_command(args) -> int:
    training_figure(read_logs(args.logs), args.output)
    return 0
