"""Hierarchy overview figure: cluster sizes per hierarchy and level, and the ARI agreement
matrix per target K (the paper's released hierarchy included)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from coarse2fine.hierarchy.agreement import agreement_matrix  # noqa: E402
from coarse2fine.hierarchy.assignments import load_hierarchy  # noqa: E402


def cluster_size_table(assignment_paths: list[str | Path]) -> pd.DataFrame:
    """One row per cluster: hierarchy, level (target K from its column order), size."""
    rows = []
    for path in assignment_paths:
        hierarchy = load_hierarchy(path)
        for i, level in enumerate(hierarchy.level_maps):
            for size in np.bincount(level):
                rows.append({"hierarchy": hierarchy.name, "level": f"level_{i + 1}", "size": int(size)})
    return pd.DataFrame(rows)


def plot_hierarchy_overview(assignment_paths, agreement: pd.DataFrame, outputs: list[str | Path]) -> plt.Figure:
    sizes = cluster_size_table(assignment_paths)
    target_ks = sorted(agreement.loc[agreement["kind"] != "seeds", "target_k"].unique())
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(
        1,
        1 + len(target_ks),
        figsize=(5.5 + 4.2 * len(target_ks), 4.6),
        gridspec_kw={"width_ratios": [1.4] + [1] * len(target_ks)},
    )
    axes = np.atleast_1d(axes)
    sns.boxplot(data=sizes, x="hierarchy", y="size", hue="level", ax=axes[0], fliersize=2)
    axes[0].set_yscale("log")
    axes[0].set_title("Cluster sizes (classes per cluster)")
    axes[0].set_xlabel("")
    axes[0].tick_params(axis="x", rotation=30)
    for label in axes[0].get_xticklabels():
        label.set_horizontalalignment("right")
    for ax, k in zip(axes[1:], target_ks):
        matrix = agreement_matrix(agreement, k).astype(float)
        sns.heatmap(
            matrix,
            ax=ax,
            vmin=0,
            vmax=1,
            cmap="viridis",
            annot=True,
            fmt=".2f",
            square=True,
            cbar=ax is axes[-1],
            annot_kws={"size": 7},
        )
        ax.set_title(f"Adjusted Rand index, target K={k}")
        ax.tick_params(axis="x", rotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    fig.tight_layout()
    for output in outputs:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(output, dpi=150)
    return fig


def add_arguments(parser) -> None:
    parser.add_argument("--agreement", type=Path, required=True, help="results/hierarchy/agreement.csv")
    parser.add_argument("--assignments", type=Path, nargs="+", required=True)
    parser.add_argument("--output", type=Path, nargs="+", required=True, help="e.g. figure.png figure.pdf")


def run_command(args) -> int:
    fig = plot_hierarchy_overview(args.assignments, pd.read_csv(args.agreement), args.output)
    plt.close(fig)
    print("figure ->", " ".join(map(str, args.output)))
    return 0
