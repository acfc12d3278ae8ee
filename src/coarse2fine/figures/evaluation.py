"""The evaluation figures of one hierarchy from its tables (results/metrics/<hierarchy>/):
top1_vs_bpp, balanced_vs_bpp, quality_vs_bpp (PSNR, MS-SSIM), wu_palmer_vs_bpp,
paired_difference (from the claim's tables), coarse_confusion, reconstructions (a codec's steps)
and reconstructions_equal_rate (the method beside the other codecs), each as PNG and PDF."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from coarse2fine.figures.confusion import coarse_confusion
from coarse2fine.figures.paired_difference import claim_figure
from coarse2fine.figures.rate_accuracy import balanced_vs_bpp, quality_vs_bpp, top1_vs_bpp, wu_palmer_vs_bpp
from coarse2fine.figures.reconstructions import COMPARED_CODECS, equal_rate_grid, reconstruction_grid

log = logging.getLogger("coarse2fine.figures")


def pick_classifier(summary: pd.DataFrame, preferred: list[str]) -> str:
    """The first preferred classifier that was evaluated (others may have been skipped offline)."""
    evaluated = list(dict.fromkeys(summary["classifier"]))
    for name in preferred:
        if name in evaluated:
            return name
    return evaluated[0]


def pick_codec(table: pd.DataFrame, preferred: list[str]) -> str | None:
    """The first preferred codec with saved reconstructions."""
    available = set(table.loc[table["recon_file"].notna(), "codec"])
    return next((c for c in preferred if c in available), None)


def run(settings: dict, metrics_dir: Path, output_dir: Path, claim_dir: Path | None = None) -> list[Path]:
    metrics_dir, output_dir = Path(metrics_dir), Path(output_dir)
    summary = pd.read_csv(metrics_dir / "summary.csv", dtype={"rate_point": str})
    summary["level"] = summary["level"].astype("Int64")
    table = pd.read_csv(metrics_dir / "per_image.csv", dtype={"rate_point": str, "recon_file": str})
    table["level"] = table["level"].astype("Int64")
    ks = json.loads((metrics_dir / "levels.json").read_text())["ks"]
    classifier = pick_classifier(summary, list(settings.get("classifiers", [])))
    paths = top1_vs_bpp(summary, ks, classifier, output_dir / "top1_vs_bpp")
    paths += balanced_vs_bpp(summary, ks, classifier, output_dir / "balanced_vs_bpp")
    paths += quality_vs_bpp(summary, ks, classifier, output_dir / "quality_vs_bpp")
    paths += wu_palmer_vs_bpp(summary, ks, classifier, output_dir / "wu_palmer_vs_bpp")
    paths += claim_figure(claim_dir, output_dir / "paired_difference")
    if "true_L1" in table:  # per-image tables written before the prior metrics lack it
        compared = [c for c in settings.get("confusion_codecs", ["rd_only", "c2f"]) if c in set(table["codec"])]
        paths += coarse_confusion(table, ks[0], classifier, compared, output_dir / "coarse_confusion")
    codec = pick_codec(table, list(settings.get("reconstruction_codecs", ["c2f", "jpeg2000"])))
    if codec is None:
        raise ValueError(
            f"{metrics_dir}: no codec among {settings.get('reconstruction_codecs')} has saved reconstructions"
        )
    images = int(settings.get("reconstruction_images", 3))
    paths += reconstruction_grid(table, ks, classifier, codec, output_dir / "reconstructions", images)
    compared = list(settings.get("comparison_codecs", COMPARED_CODECS))
    paths += equal_rate_grid(table, ks, classifier, compared, output_dir / "reconstructions_equal_rate", images)
    log.info("figures for %s with %s: %s", metrics_dir, classifier, ", ".join(map(str, paths)))
    return paths


def add_arguments(parser) -> None:
    parser.add_argument(
        "--settings",
        required=True,
        help="JSON: classifiers (preference), reconstruction_codecs, reconstruction_images, comparison_codecs, "
        "confusion_codecs",
    )
    parser.add_argument("--metrics-dir", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument(
        "--claim-dir", type=Path, help="a claim's tables (claim_runs.csv, claim_seeds.csv) for the paired difference"
    )


def run_command(args) -> int:
    run(json.loads(args.settings), args.metrics_dir, args.output_dir, args.claim_dir)
    return 0
