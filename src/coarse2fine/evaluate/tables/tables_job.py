"""The tables job (`python -m coarse2fine.evaluate tables`): the results tables of one
hierarchy from the decoded views of every provider (the cheap half).

Writes per_image.csv (evaluate/tables/predictions.py), summary.csv / summary.md (evaluate/tables/summary.py),
bd.csv / bd.md: BD-rate and BD-accuracy per level (and BD-PSNR) against a named anchor, and
against the base codec where it was evaluated (codec "base") (evaluate/tables/bd.py), levels.json,
progressive_check.json / .md: whether every learned stream's rate rises and PSNR never falls
prefix by prefix (evaluate/tables/progressive.py), prior.md (balanced accuracy, predicted-cluster
shares, informativeness; evaluate/tables/cluster_prior.py) and breakdown.csv / .md (by label and photo
source), and, when the views carry a cpips column,
cpips_check.json / .md (evaluate/tables/cpips_check.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from coarse2fine.evaluate.settings import TablesSettings
from coarse2fine.evaluate.tables.bd import bd_table
from coarse2fine.evaluate.tables.cluster_prior import GROUP, breakdown, prior_markdown, prior_metrics
from coarse2fine.evaluate.tables.cpips_check import perceptual_check, perceptual_check_markdown
from coarse2fine.evaluate.tables.predictions import image_metrics, per_image_table
from coarse2fine.evaluate.tables.progressive import progressive_check, progressive_check_markdown
from coarse2fine.evaluate.tables.summary import bootstrap_summary, summary_markdown
from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC
from coarse2fine.hierarchy import load_hierarchy

log = logging.getLogger("coarse2fine.evaluate")

BASE_CODEC = "base"  # the shipped or pretrained rate-distortion base, evaluated as a codec


def run(
    settings: dict | TablesSettings, view_dirs: list[Path], level_maps, output_dir: Path
) -> dict[str, pd.DataFrame]:
    if not isinstance(settings, TablesSettings):
        settings = TablesSettings.from_dict(settings)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    table = per_image_table(view_dirs, level_maps)
    ks = table.attrs["ks"]
    metrics = image_metrics(table) + [
        f"{what}_L{level}" for what in ("correct", "agree") for level in range(1, len(ks) + 1)
    ]
    summary = bootstrap_summary(
        table,
        metrics,
        settings.bootstrap,
        settings.confidence,
        settings.seed,
    )
    # Balanced accuracy, predicted-cluster shares and their entropy beside top-1: from the stored
    # predictions, one pass over the table (cluster_prior.py)
    summary = summary.merge(prior_metrics(table, len(ks)), on=GROUP, how="left", validate="one_to_one")
    # Against the named anchor, and against the base codec where it was evaluated: how far the
    # fine-tunes moved from the rate-distortion of the base they started from.
    # (bd_anchor null: no anchor was coded, as in the confirmation on a labelled folder)
    named = [settings.bd_anchor] if settings.bd_anchor else []
    anchors = named + [BASE_CODEC] * (BASE_CODEC in set(summary["codec"]))
    bd = pd.concat([bd_table(summary, ks, anchor) for anchor in anchors] or [pd.DataFrame()], ignore_index=True)
    table.to_csv(output_dir / "per_image.csv", index=False)
    summary.to_csv(output_dir / "summary.csv", index=False)
    (output_dir / "summary.md").write_text(summary_markdown(summary, ks))
    bd.to_csv(output_dir / "bd.csv", index=False)
    (output_dir / "bd.md").write_text(bd.round(2).to_markdown(index=False) + "\n")
    judge = settings.judge or sorted(set(table["classifier"]))[0]
    (output_dir / "prior.md").write_text(prior_markdown(summary, ks, judge))
    by_source = breakdown(table, len(ks), judge)
    by_source.to_csv(output_dir / "breakdown.csv", index=False)
    (output_dir / "breakdown.md").write_text(
        f"# By label source and photo source ({judge})\n\n" + by_source.round(3).to_markdown(index=False) + "\n"
    )
    (output_dir / "levels.json").write_text(json.dumps({"ks": ks}) + "\n")
    progressive = progressive_check(summary)
    (output_dir / "progressive_check.json").write_text(json.dumps(progressive, indent=2) + "\n")
    (output_dir / "progressive_check.md").write_text(progressive_check_markdown(progressive))
    if "cpips" in metrics:
        check = perceptual_check(table, REFERENCE_CODEC)
        (output_dir / "cpips_check.json").write_text(json.dumps(check, indent=2) + "\n")
        (output_dir / "cpips_check.md").write_text(perceptual_check_markdown(check))
    return {"per_image": table, "summary": summary, "bd": bd}


def add_arguments(parser) -> None:
    parser.add_argument("--settings", required=True, help="JSON: bootstrap, confidence, seed, bd_anchor, judge")
    parser.add_argument("--hierarchy", type=Path, required=True, help="assignments.csv of the hierarchy")
    parser.add_argument(
        "--views", type=Path, nargs="+", required=True, help="folders written by coarse2fine.evaluate.views.views_job"
    )
    parser.add_argument("--output-dir", type=Path, required=True)


def run_command(args) -> int:
    run(json.loads(args.settings), args.views, load_hierarchy(args.hierarchy).level_maps, args.output_dir)
    return 0
