"""The confidence-driven receiver, measured on every held-out photo: for each threshold, how
many bytes a receiver reads and how often its answer is right, beside reading everything.

    python -m coarse2fine.evaluate receiver --per-image results/metrics/tables/<h>/per_image.csv \
        --judge NAME --thresholds 0.5 0.9 --output-dir results/metrics/tables/<h>/receiver

The receiver reads a stream segment by segment and stops at the first segment whose answer is
at least P confident (receiver.py: `stop_level`, `answered_level`, the rule of
`c2f classify --until-confident`). Progressive codecs only: the coarse-to-fine codecs (levels
are hierarchy levels) and the codecs whose segments are rate points (DeepHQ, RMPGC, the base,
JPEG 2000's layers), whose segments answer the hierarchy's levels coarse first.

receiver.csv, one row per codec (and rate point) x threshold: mean bpp read, the share of
everything's bpp, the mean hierarchy level answered, the answer's top-1 (at its own level) and
agreement with the judge on the uncompressed photo, and the top-1 the same questions get from
the whole stream (`top1_everything`): the accuracy lost to stopping early. A threshold of
"everything" reads every segment and answers the class. receiver.md renders it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from coarse2fine.classify.levels import answered_level, stop_level

LAYERED = re.compile(r"^(?:L|layers)(\d+)$")


def segment_tables(table: pd.DataFrame, judge: str) -> dict[tuple[str, str], dict]:
    """Per progressive stream (codec, rate point): arrays (images x segments) of bpp, and of
    confidence, correctness and agreement of the answer each segment gives."""
    table = table[table["classifier"] == judge]
    levels = sorted(int(c.split("_L")[1]) for c in table.columns if c.startswith("confidence_L"))
    num_levels = len(levels)
    groups = {}
    semantic = table[table["level"].notna()]
    for (codec, rate_point), rows in semantic.groupby(["codec", "rate_point"]):
        groups[(codec, rate_point)] = (rows.assign(segment=rows["level"].astype(int)), True)
    layered = table[table["level"].isna() & table["rate_point"].astype(str).str.match(LAYERED)]
    for codec, rows in layered.groupby("codec"):
        segment = rows["rate_point"].astype(str).str.extract(LAYERED)[0].astype(int)
        groups[(codec, "")] = (rows.assign(segment=segment.to_numpy()), False)
    out = {}
    for key, (rows, is_semantic) in groups.items():
        segments = int(rows["segment"].max())
        wide = rows.pivot_table(
            index="image",
            columns="segment",
            aggfunc="first",
            values=["bpp_actual"] + [f"{m}_L{k}" for m in ("confidence", "correct", "agree") for k in levels],
        )
        wide = wide.dropna(subset=[("bpp_actual", s) for s in range(1, segments + 1)])
        answered = [answered_level(s, segments, num_levels, is_semantic) for s in range(1, segments + 1)]

        def pick(metric: str) -> np.ndarray:
            """(images, segments): the metric at the level each segment answers."""
            columns = [
                wide[(f"{metric}_L{a}", s)].to_numpy(dtype=float) for s, a in zip(range(1, segments + 1), answered)
            ]
            return np.stack(columns, axis=1)

        out[key] = {
            "bpp": np.stack([wide[("bpp_actual", s)].to_numpy(dtype=float) for s in range(1, segments + 1)], 1),
            "confidence": pick("confidence"),
            "correct": pick("correct"),
            "agree": pick("agree"),
            "answered": np.array(answered),
            "everything": {a: wide[(f"correct_L{a}", segments)].to_numpy(dtype=float) for a in set(answered)},
            "semantic": is_semantic,
        }
    return out


def receiver_rows(streams: dict, thresholds) -> pd.DataFrame:
    rows = []
    for (codec, rate_point), s in streams.items():
        images, segments = s["bpp"].shape
        full_bpp = s["bpp"][:, -1].mean()
        for threshold in [*thresholds, None]:
            stops = (
                np.full(images, segments)
                if threshold is None
                else np.array([stop_level(conf, threshold) for conf in s["confidence"]])
            )
            idx = np.arange(images), stops - 1
            answered = s["answered"][stops - 1]
            everything = np.array([s["everything"][a][i] for i, a in enumerate(answered)])
            bpp = s["bpp"][idx].mean()
            rows.append(
                {
                    "codec": codec,
                    "rate_point": rate_point,
                    "threshold": "everything" if threshold is None else threshold,
                    "images": images,
                    "bpp": bpp,
                    "share_of_everything": bpp / full_bpp,
                    "mean_level": answered.mean(),
                    "stopped_early": float((stops < segments).mean()),
                    "top1": np.nanmean(s["correct"][idx]),
                    "agreement": np.nanmean(s["agree"][idx]),
                    "top1_everything": np.nanmean(everything),
                }
            )
    return pd.DataFrame(rows)


def receiver_markdown(frame: pd.DataFrame, judge: str) -> str:
    lines = [
        f"# The confidence-driven receiver (judge: {judge})",
        "",
        "Per threshold P: the receiver reads segment by segment and stops once its answer (the hierarchy",
        "level that segment serves) has prob-sum confidence >= P. Top-1 is the answer's at its own level;",
        "top-1 (everything) is the same questions answered from the whole stream.",
        "",
        "| codec | rate point | P | bpp read | share of everything | mean level | stopped early | top-1 % | "
        "top-1 everything % | agreement % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in frame.itertuples():
        p = r.threshold if isinstance(r.threshold, str) else f"{r.threshold:.2f}"
        lines.append(
            f"| {r.codec} | {r.rate_point or '-'} | {p} | {r.bpp:.3f} | {r.share_of_everything:.0%} | "
            f"{r.mean_level:.2f} | {r.stopped_early:.0%} | {100 * r.top1:.1f} | {100 * r.top1_everything:.1f} | "
            f"{100 * r.agreement:.1f} |"
        )
    return "\n".join(lines) + "\n"


def add_arguments(parser) -> None:
    parser.add_argument("--per-image", type=Path, required=True)
    parser.add_argument("--judge", required=True)
    parser.add_argument("--thresholds", type=float, nargs="+", required=True)
    parser.add_argument("--output-dir", type=Path, required=True)


def run_command(args) -> int:
    table = pd.read_csv(args.per_image, dtype={"rate_point": str, "codec": str}, low_memory=False)
    if not any(c.startswith("confidence_L") for c in table.columns):
        raise ValueError(
            f"{args.per_image}: no confidence_L<k> columns (tables written before the receiver); rerun evaluate_tables"
        )
    frame = receiver_rows(segment_tables(table, args.judge), args.thresholds)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.output_dir / "receiver.csv", index=False)
    (args.output_dir / "receiver.md").write_text(receiver_markdown(frame, args.judge))
    return 0
