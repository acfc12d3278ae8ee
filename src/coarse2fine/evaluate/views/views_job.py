"""The views job (`python -m coarse2fine.evaluate views`): decoded views of every evaluated
image, for one provider, measured and classified (the expensive half).

Provider kinds: evaluate/providers. For each view: PSNR, MS-SSIM and bpp against the original
at full resolution (in the study's view), optionally CPIPS (settings key `cpips`: a codec
checkpoint; `evaluate.cpips`; 0 for the reference; no column when the key is absent or null),
and the logits of every classifier (evaluate/views/measure.py). Output: a view folder
(evaluate/views/view_files.py).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pandas as pd
import torch

from coarse2fine.data.manifest import read_manifest, spread_subset
from coarse2fine.evaluate.settings import ViewsSettings
from coarse2fine.evaluate.views.cpips import CPIPS
from coarse2fine.evaluate.views.measure import load_classifiers, measure_views
from coarse2fine.evaluate.views.providers import build_provider
from coarse2fine.evaluate.views.view_files import write_views
from coarse2fine.imaging.view import StudyView

log = logging.getLogger("coarse2fine.evaluate")


def evaluated_images(settings: ViewsSettings, manifest: Path, every: bool = False) -> tuple[pd.DataFrame, Path]:
    """The manifest's rows that are evaluated (settings.splits; at most settings.max_images
    unless `every`) and its root."""
    table, root = read_manifest(manifest, splits=settings.splits)
    if settings.max_images and not every:
        table = spread_subset(table, settings.max_images)
    if table.empty:
        raise ValueError(f"{manifest}: no images in splits {settings.splits}")
    return table, root


def run(settings: dict | ViewsSettings, manifest: Path, output_dir: Path) -> pd.DataFrame:
    if not isinstance(settings, ViewsSettings):
        settings = ViewsSettings.from_dict(settings)
    torch.set_num_threads(settings.threads)
    table, root = evaluated_images(settings, manifest)
    provider = build_provider(settings.provider)
    classifiers, skipped = load_classifiers(list(settings.classifiers))
    cpips = CPIPS.from_checkpoint(settings.cpips) if settings.cpips else None
    output_dir = Path(output_dir)
    (output_dir / "recon").mkdir(parents=True, exist_ok=True)
    study_view = StudyView.from_settings(settings.view)
    start = time.perf_counter()
    frame, logits = measure_views(
        table,
        root,
        provider,
        study_view,
        classifiers=classifiers,
        cpips=cpips,
        recon_dir=output_dir / "recon",
        reconstructions=settings.reconstructions,
    )
    seconds = time.perf_counter() - start
    write_views(
        output_dir,
        frame,
        logits,
        {
            "used": {n: m.input_size for n, m in classifiers.items()},
            "skipped": skipped,
            "images": len(table),
            "views": len(frame),
            "seconds": round(seconds, 2),
            "cpips": settings.cpips,
            "view": study_view.to_settings(),
        },
    )
    log.info("%d images, %d views, %d classifiers in %.1f s", len(table), len(frame), len(classifiers), seconds)
    return frame


def add_arguments(parser) -> None:
    parser.add_argument(
        "--settings",
        required=True,
        help="JSON: provider, classifiers, splits, reconstructions, threads, max_images, cpips, view",
    )
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)


def run_command(args) -> int:
    run(json.loads(args.settings), args.manifest, args.output_dir)
    return 0
