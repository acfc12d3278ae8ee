"""The study's headline numbers as DVC metrics and plots, from the tables of one hierarchy.

    python -m coarse2fine.evaluate headline --tables results/metrics/tables/<h> --judge NAME \
        --claims results/metrics/tables/<h>/claim/c2f/claim.json ... \
        --metrics metrics/headline.json --details results/metrics/details.json --plots metrics/plots

headline.json (`dvc metrics show`, `dvc exp show`: a handful of columns): per claim method, its
BD-accuracy against its ablation at the coarsest level in top-1 and in balanced accuracy and at
the finest in top-1, each with its interval, and its coarse verdict; the BD-rate against JPEG at
equal PSNR of every learned codec. details.json: the judge's top-1 and balanced accuracy of every
learned codec (each hierarchy level read from the prefix that serves it: level k from the first k
blocks, the class from all), the modal share of its coarse predictions, the BD-rate against JPEG
at equal PSNR and at equal top-1 per level, and every BD-accuracy of every claim.
plots/L<k>/<codec>.csv (`dvc plots show`, `dvc plots diff`): the judge's bpp, PSNR, top-1 and
balanced accuracy of level k, sorted by rate (plot_tables). headline.json and plots/ are small
and kept in git (metrics/, dvc.yaml `cache: false`), so a fresh clone shows and diffs them.
Numbers only from the tables; a value that could not be measured is absent, never zero.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) or not math.isfinite(float(value)) else round(float(value), 4)


def details(summary: pd.DataFrame, bd: pd.DataFrame, ks: list[int], judge: str, claims: dict[str, dict]) -> dict:
    judged = summary[summary["classifier"] == judge]
    learned = judged[judged["level"].notna()]
    top1: dict = {}
    balanced: dict = {}
    modal: dict = {}
    for r in learned.itertuples():
        level = int(r.level)
        if level <= len(ks):  # hierarchy level k from the prefix of k blocks
            key = f"{r.rate_point}_K{ks[level - 1]}"
            top1.setdefault(r.codec, {})[key] = _number(getattr(r, f"correct_L{level}"))
            if level < len(ks) and hasattr(r, f"balanced_L{level}"):
                balanced.setdefault(r.codec, {})[key] = _number(getattr(r, f"balanced_L{level}"))
                modal.setdefault(r.codec, {})[key] = _number(getattr(r, f"modal_share_L{level}"))
    bd_judged = bd[(bd["classifier"] == judge) & (bd["anchor"] == "jpeg")] if len(bd) else bd
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
        "balanced": balanced,
        "coarse_modal_share": modal,
        "bd_rate_vs_jpeg_percent": bd_rate,
        "claim_bd_accuracy_points": claim,
    }


def headline(full: dict, claims: dict[str, dict], ks: list[int]) -> dict:
    """The few numbers `dvc metrics show` leads with (see the module docstring)."""
    coarse, fine = "L1", f"L{len(ks)}"
    claim = {}
    for method, result in claims.items():
        ablation = next((k.split("_vs_", 1)[1] for k in result if k.startswith(f"{coarse}_top-1_vs_")), None)
        entry = {}
        for name, key in (
            (f"K{ks[0]}_top1", f"{coarse}_top-1_vs_{ablation}"),
            (f"K{ks[0]}_balanced", f"{coarse}_balanced_top-1_vs_{ablation}"),
            (f"K{ks[-1]}_top1", f"{fine}_top-1_vs_{ablation}"),
        ):
            if key in result:
                entry[name] = {k: _number(result[key][k]) for k in ("bd", "lo", "hi")}
        entry["coarse_verdict"] = result.get("coarse_verdicts", {}).get(f"K={ks[0]}")
        claim[method] = entry
    psnr = {codec: values["psnr"] for codec, values in full["bd_rate_vs_jpeg_percent"].items() if "psnr" in values}
    return {"judge": full["judge"], "images": full["images"], "claim": claim, "bd_rate_psnr_vs_jpeg": psnr}


def plot_tables(summary: pd.DataFrame, judge: str, num_levels: int) -> dict[str, pd.DataFrame]:
    """Per level k (`L<k>`) and codec, the judge's points against rate for `dvc plots`: bpp, PSNR,
    top-1 (and balanced accuracy below the class level) of level k. A codec whose prefixes are the
    hierarchy's levels contributes the prefix that serves level k (one row per rate point); any
    other (single-rate codecs, the anchors, a layered codec with its own layer count) every coded
    point, each a point of its rate curve."""
    judged = summary[(summary["classifier"] == judge) & (summary["codec"] != "uncompressed")]
    tables = {}
    for k in range(1, num_levels + 1):
        columns = {"bpp_actual": "bpp", "psnr": "psnr", f"correct_L{k}": "top1"}
        if k < num_levels and f"balanced_L{k}" in summary:
            columns[f"balanced_L{k}"] = "balanced"
        for codec, rows in judged.groupby("codec"):
            levels = set(rows["level"].dropna().astype(int))
            if levels == set(range(1, num_levels + 1)):
                rows = rows[rows["level"] == k]
            table = rows[["rate_point", "level", *columns]].rename(columns=columns).sort_values("bpp")
            table["level"] = table["level"].astype("Int64")
            tables[f"L{k}/{codec}"] = table
    return tables


def add_arguments(parser) -> None:
    parser.add_argument("--tables", type=Path, required=True, help="results/metrics/tables/<hierarchy>")
    parser.add_argument("--judge", required=True)
    parser.add_argument("--claims", type=Path, nargs="*", default=[], help="claim/<method>/claim.json files")
    parser.add_argument("--metrics", type=Path, required=True, help="headline.json: the few numbers DVC shows")
    parser.add_argument("--details", type=Path, required=True, help="details.json: every headline number")
    parser.add_argument("--plots", type=Path, required=True, help="folder for one CSV per codec")


def run_command(args) -> int:
    summary = pd.read_csv(args.tables / "summary.csv", dtype={"rate_point": str, "codec": str})
    bd = pd.read_csv(args.tables / "bd.csv", dtype={"codec": str, "anchor": str})
    ks = json.loads((args.tables / "levels.json").read_text())["ks"]
    claims = {path.parent.name: json.loads(path.read_text()) for path in args.claims}
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    full = details(summary, bd, ks, args.judge, claims)
    args.details.write_text(json.dumps(full, indent=1) + "\n")
    args.metrics.write_text(json.dumps(headline(full, claims, ks), indent=1) + "\n")
    for name, table in plot_tables(summary, args.judge, len(ks)).items():
        (args.plots / name).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.plots / f"{name}.csv", index=False)
    return 0
