"""An anchor's CPIPS as its own job (`python -m coarse2fine.evaluate cpips`; cpips.csv beside
views.csv).

CPIPS needs a codec trained with the classifier, so computing it inside an anchor's views job
would make the anchor wait for training. This job runs the provider again through the same
measuring loop (evaluate/views/measure.py; an anchor re-encodes, which costs milliseconds), keeps
each view's key and CPIPS, and checks that the views are the ones of views.csv. The tables
join the column on the key (evaluate/views/view_files.py). A learned model's views job computes
CPIPS inline (settings key `cpips`): it waits for training anyway.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import torch

from coarse2fine.evaluate.settings import ViewsSettings
from coarse2fine.evaluate.views.cpips import CPIPS
from coarse2fine.evaluate.views.measure import measure_views
from coarse2fine.evaluate.views.providers import build_provider
from coarse2fine.evaluate.views.view_files import VIEW_KEY, join_cpips, read_view_table
from coarse2fine.evaluate.views.views_job import evaluated_images
from coarse2fine.imaging.view import StudyView

log = logging.getLogger("coarse2fine.evaluate")


def cpips_of_views(settings: dict | ViewsSettings, manifest: Path, views_csv: Path, checkpoint: Path) -> pd.DataFrame:
    if not isinstance(settings, ViewsSettings):
        settings = ViewsSettings.from_dict(settings)
    torch.set_num_threads(settings.threads)
    views = read_view_table(views_csv)
    table, root = evaluated_images(settings, manifest, every=True)
    table = table[table["path"].isin(set(views["image"]))]
    frame, _ = measure_views(
        table,
        root,
        build_provider(settings.provider),
        StudyView.from_settings(settings.view),
        cpips=CPIPS.from_checkpoint(checkpoint),
        image_metrics=False,
    )
    frame = frame.reindex(columns=[*VIEW_KEY, "cpips"])
    return join_cpips(views[VIEW_KEY], frame, f"the provider's views against {views_csv}")


def add_arguments(parser) -> None:
    parser.add_argument("--settings", required=True, help="JSON: the views job's settings (provider, splits, threads)")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--views", type=Path, required=True, help="the provider's views.csv")
    parser.add_argument("--checkpoint", type=Path, required=True, help="codec trained with the classifier")
    parser.add_argument("--output", type=Path, required=True)


def run_command(args) -> int:
    frame = cpips_of_views(json.loads(args.settings), args.manifest, args.views, args.checkpoint)
    frame.to_csv(args.output, index=False)
    log.info("%d views: CPIPS written to %s", len(frame), args.output)
    return 0
