"""The probe's tables and figure, from the summary CSV of `python -m coarse2fine.evaluate probe`
(evaluate/reports/probe.py): a run's coarse prefix step by step.

    python -m coarse2fine.figures probe --probe probe.csv --markdown probe.md --figure probe.png \\
        [--built-by "COMMAND"]

The figure's panels, each run a colour, the training photos dashed and the held-out ones solid:
the task classifier's coarse balanced accuracy and top-1; the judge's balanced accuracy (held-out
photos); the share of the training labels' modal cluster and the modal share of the predicted
clusters (the task classifier's, the judge's), the labels' own in grey; the coarse prefix's bpp
and PSNR. With
`--built-by`, the table's first line and the PNG's Source text name that command and this
checkout's commit, as every file of docs/figures/ does (figures/publish.py).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from coarse2fine.config_schema import schema_default  # noqa: E402

# the task term's classifier (the schema's train.classifier) and the embedded default's judge
# (config/config.yaml's evaluate.judge; the schema has none)
TASK_CLASSIFIER, JUDGE = schema_default("train.classifier"), "efficientnet_lite1"
SET_NAMES = {"train": "training photos", "held_out": "held-out photos"}
SET_DASHES = {"training photos": (4, 2), "held-out photos": ""}


def probe_figure(summary: pd.DataFrame, task_classifier: str, judge: str | None, path: Path) -> Path:
    """The panels of the module docstring, one line per run and set of photos."""
    panels = figure_panels(summary, task_classifier, judge)
    runs = list(dict.fromkeys(summary["run"]))
    palette = dict(zip(runs, sns.color_palette("tab10", len(runs))))
    columns = 4
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.5 * rows), squeeze=False)
    for ax, (data, column, labels, title) in zip(axes.flat, panels):
        sns.lineplot(
            data=data,
            x="step",
            y=column,
            hue="run",
            style="photos",
            dashes=SET_DASHES,
            markers=True,
            palette=palette,
            ax=ax,
        )
        if labels:  # the labels' own value, per set of photos, in grey
            for part, values in data.groupby("photos")[labels]:
                ax.axhline(values.iloc[0], color="grey", linestyle="--" if SET_DASHES[part] else "-", linewidth=1)
            ax.text(0.01, 0.02, "grey: the labels'", transform=ax.transAxes, fontsize=8, color="grey")
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("")
        ax.grid(alpha=0.3)
        ax.legend().remove()
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return path


def figure_panels(summary: pd.DataFrame, task_classifier: str, judge: str | None) -> list[tuple]:
    """(rows, column, the labels' column or None, title) of each panel, in percent."""
    common = summary[summary["set"] == "train"]["label_modal_cluster"].iloc[0]  # the training labels' modal cluster
    frame = summary.assign(
        photos=summary["set"].map(SET_NAMES),
        common=100 * summary[f"share_{common}"],
        label_common=100 * summary[f"label_share_{common}"],
        **{m: 100 * summary[m] for m in ("top1", "balanced", "modal_share", "label_modal_share")},
    )
    task = frame[frame["classifier"] == task_classifier]
    judged = frame[frame["classifier"] == judge] if judge else frame.iloc[:0]
    panels = [
        (task, "balanced", None, f"coarse balanced accuracy %, {task_classifier}"),
        (task, "top1", None, f"coarse top-1 %, {task_classifier}"),
        (judged, "balanced", None, f"coarse balanced accuracy %, {judge}"),
        (
            task,
            "common",
            "label_common",
            f"share % of cluster {common} (the training labels' modal one), {task_classifier}",
        ),
        (task, "modal_share", "label_modal_share", f"modal share % of the predicted clusters, {task_classifier}"),
        (judged, "modal_share", "label_modal_share", f"modal share % of the predicted clusters, {judge}"),
        (task, "bpp", None, "coarse prefix bpp (likelihood estimate)"),
        (task, "psnr", None, "coarse prefix PSNR (dB)"),
    ]
    return [panel for panel in panels if len(panel[0])]


# -- the tables -------------------------------------------------------------------------------------
def _pct(value: float) -> str:
    return "" if pd.isna(value) else f"{100 * value:.1f}"


def _cells(summary: pd.DataFrame, classifier: str, value) -> pd.DataFrame:
    """A step x (run, set) table of `value(row)` for one classifier."""
    rows = summary[summary["classifier"] == classifier]
    table = rows.assign(cell=rows.apply(value, axis=1)).pivot_table(
        index="step", columns=["run", "set"], values="cell", aggfunc="first"
    )
    table.columns = [f"{run} {part.replace('_', '-')}" for run, part in table.columns]
    return table.reset_index()


def _markdown(table: pd.DataFrame) -> str:
    return table.to_markdown(index=False, disable_numparse=True)


def report_markdown(summary: pd.DataFrame, task_classifier: str, judge: str | None, title: str = "") -> str:
    """The probe's tables: accuracy on the training photos against the held-out ones, the modal
    share beside the labels', the predicted clusters at the last step, and the coarse rate and
    PSNR, step by step."""
    both = _cells(summary, task_classifier, lambda r: f"{_pct(r['top1'])} / {_pct(r['balanced'])}")
    modal = _cells(summary, task_classifier, lambda r: f"{_pct(r['modal_share'])} (c{r['modal_cluster']})")
    rate = _cells(summary, task_classifier, lambda r: f"{r['bpp']:.4f} / {r['psnr']:.2f}")
    first = summary[summary["classifier"] == task_classifier].drop_duplicates("set").set_index("set")
    labels = ", ".join(
        f"{part.replace('_', '-')} {_pct(first.loc[part, 'label_modal_share'])} % "
        f"(c{first.loc[part, 'label_modal_cluster']}, {first.loc[part, 'labelled']} labelled of "
        f"{first.loc[part, 'images']})"
        for part in first.index
    )
    lines = [f"# {title or 'The coarse prefix step by step'}", ""]
    lines += [
        f"The coarse (K={sum(c.startswith('share_') for c in summary.columns)}) prefix of each snapshot: the "
        "codec's forward pass in eval mode, the level-1 reconstruction in 8-bit steps, its rate the likelihood "
        "estimate. `train`: the labelled training photos (the task term's images and labels, seen whole); "
        "`held-out`: the evaluation's photos (val + test) and labels.",
        "",
        f"## Top-1 / balanced accuracy %, {task_classifier} (the task term's classifier)",
        "",
        _markdown(both),
        "",
    ]
    if judge and judge in set(summary["classifier"]):
        judged = summary[(summary["classifier"] == judge) & (summary["set"] == "held_out")]
        table = judged.assign(cell=judged.apply(lambda r: f"{_pct(r['top1'])} / {_pct(r['balanced'])}", axis=1))
        table = table.pivot_table(index="step", columns="run", values="cell", aggfunc="first").reset_index()
        lines += [f"## Top-1 / balanced accuracy %, {judge} (the judge), held-out", "", _markdown(table), ""]
    lines += [
        f"## Modal share % of the predicted clusters (modal cluster), {task_classifier}",
        "",
        f"The labels' modal share: {labels}.",
        "",
        _markdown(modal),
        "",
    ]
    if judge and judge in set(summary["classifier"]):
        judged = _cells(summary, judge, lambda r: f"{_pct(r['modal_share'])} (c{r['modal_cluster']})")
        lines += [f"## Modal share % (modal cluster), {judge}", "", _markdown(judged), ""]
    lines += [
        "## Share % of each coarse cluster, step by step",
        "",
        _markdown(shares_table(summary)),
        "",
        "## Coarse prefix: estimated bpp / PSNR dB (means over the photos)",
        "",
        _markdown(rate),
        "",
    ]
    return "\n".join(lines)


def shares_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The share % of each coarse cluster per step, run, set and classifier, the labels' first."""
    share_columns = sorted((c for c in summary.columns if c.startswith("share_")), key=lambda c: int(c.split("_")[1]))
    rename = {c: f"c{c.split('_')[1]}" for c in share_columns}
    labels_rows = summary.drop_duplicates("set").assign(
        step="labels", run="", classifier="", **{c: summary.drop_duplicates("set")[f"label_{c}"] for c in share_columns}
    )
    table = pd.concat([labels_rows, summary.sort_values(["step", "run", "set", "classifier"])])
    table = table.assign(photos=table["set"].str.replace("_", "-"), **{c: table[c].map(_pct) for c in share_columns})[
        ["step", "run", "photos", "classifier", *share_columns]
    ].rename(columns=rename)
    return table.astype(str)


def add_arguments(parser) -> None:
    parser.add_argument("--probe", type=Path, required=True, help="the summary CSV of `probe`")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--figure", type=Path, help="PNG")
    parser.add_argument("--task-classifier", default=TASK_CLASSIFIER)
    parser.add_argument("--judge", default=JUDGE)
    parser.add_argument("--title", default="")
    parser.add_argument(
        "--built-by",
        help="the command that made the CSV: written with this checkout's commit as the table's first line "
        "and the PNG's Source text (docs/figures/'s convention)",
    )


def run_command(args) -> int:
    import tempfile
    from datetime import date

    from .publish import HEADER_PREFIX, current_commit

    summary = pd.read_csv(args.probe)
    head = None
    if args.built_by:
        head = f"{HEADER_PREFIX}`{args.built_by}` at commit {current_commit(Path.cwd())}, {date.today().isoformat()}."
    with tempfile.TemporaryDirectory() as tmp:
        if args.markdown:
            text = report_markdown(summary, args.task_classifier, args.judge, args.title)
            draft = Path(tmp) / "probe.md"
            draft.write_text(text + "\n")
            _publish(draft, args.markdown, head)
        if args.figure:
            draft = probe_figure(summary, args.task_classifier, args.judge, Path(tmp) / "probe.png")
            _publish(draft, args.figure, head)
    return 0


def _publish(draft: Path, target: Path, head: str | None) -> None:
    """The drawn file in place, with the header docs/figures/ files carry when there is one."""
    import shutil

    from .publish import write

    target.parent.mkdir(parents=True, exist_ok=True)
    if head:
        write(draft, target, head)
    else:
        shutil.copyfile(draft, target)
