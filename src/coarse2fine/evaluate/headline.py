"""The study's headline numbers as DVC metrics and plots, from the tables of one hierarchy.

    python -m coarse2fine.evaluate headline --tables results/metrics/tables/<h> --judge NAME \
        --claims results/metrics/tables/<h>/claim/c2f/claim.json ... \
        --metrics results/metrics/headline.json --plots results/metrics/plots

headline.json (`dvc metrics show`, `dvc exp show`): the judge's top-1 of every learned codec,
each hierarchy level read from the prefix that serves it (level k of the hierarchy from the
first k blocks; the class from all), the BD-rate against JPEG at equal PSNR and at equal top-1
per level, and each claim's BD-accuracy against its ablation with its interval. plots/<codec>.csv
(`dvc plots show`): one row per coded point (bpp, PSNR, top-1 per level), sorted by rate.
Numbers only from the tables; a value that could not be measured is absent, never zero.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) or not math.isfinite(float(value)) else round(float(value), 4)


def headline(summary: pd.DataFrame, bd: pd.DataFrame, ks: list[int], judge: str, claims: dict[str, dict]) -> dict:
    judged = summary[summary["classifier"] == judge]
    learned = judged[judged["level"].notna()]
    top1: dict = {}
    for r in learned.itertuples():
        level = int(r.level)
        if level <= len(ks):  # hierarchy level k from the prefix of k blocks
            top1.setdefault(r.codec, {})[f"{r.rate_point}_K{ks[level - 1]}"] = _number(getattr(r, f"correct_L{level}"))
    bd_judged = bd[(bd["classifier"] == judge) & (bd["anchor"] == "jpeg")]
    bd_rate: dict = {}
    for r in bd_judged.itertuples():
        key = "psnr" if r.metric == "psnr" else f"top1_K{r.K}"
        value = _number(r.bd_rate_percent)
        if value is not None:
            bd_rate.setdefault(r.codec, {})[key] = value
    claim = {
        method: {
            key: {k: _number(v[k]) for k in ("bd", "lo", "hi")}
            for key, v in result.items()
            if isinstance(v, dict) and "bd" in v
        }
        for method, result in claims.items()
    }
    images = int(judged["n_images"].max()) if len(judged) else 0
    return {
        "judge": judge,
        "images": images,
        "top1": top1,
        "bd_rate_vs_jpeg_percent": bd_rate,
        "claim_bd_accuracy_points": claim,
    }


def plot_tables(summary: pd.DataFrame, judge: str, num_levels: int) -> dict[str, pd.DataFrame]:
    judged = summary[summary["classifier"] == judge]
    columns = {"bpp_actual": "bpp", "psnr": "psnr", **{f"correct_L{k}": f"top1_L{k}" for k in range(1, num_levels + 1)}}
    tables = {}
    for codec, rows in judged.groupby("codec"):
        if codec == "uncompressed":
            continue
        table = rows[["rate_point", "level", *columns]].rename(columns=columns).sort_values("bpp")
        table["level"] = table["level"].astype("Int64")
        tables[codec] = table
    return tables


def add_arguments(parser) -> None:
    parser.add_argument("--tables", type=Path, required=True, help="results/metrics/tables/<hierarchy>")
    parser.add_argument("--judge", required=True)
    parser.add_argument("--claims", type=Path, nargs="*", default=[], help="claim/<method>/claim.json files")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True, help="folder for one CSV per codec")


def run_command(args) -> int:
    summary = pd.read_csv(args.tables / "summary.csv", dtype={"rate_point": str, "codec": str})
    bd = pd.read_csv(args.tables / "bd.csv", dtype={"codec": str, "anchor": str})
    ks = json.loads((args.tables / "levels.json").read_text())["ks"]
    claims = {path.parent.name: json.loads(path.read_text()) for path in args.claims}
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    args.metrics.write_text(json.dumps(headline(summary, bd, ks, args.judge, claims), indent=1) + "\n")
    args.plots.mkdir(parents=True, exist_ok=True)
    for codec, table in plot_tables(summary, args.judge, len(ks)).items():
        table.to_csv(args.plots / f"{codec}.csv", index=False)
    return 0
