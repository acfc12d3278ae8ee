"""CPIPS of every view of an anchor, as its own job (`cpips.csv` beside views.csv).

CPIPS needs a codec trained with the classifier, so computing it inside an anchor's views job
would make the anchor wait for training. This job runs the provider again (an anchor
re-encodes, which costs milliseconds), takes the CPIPS of each view in the order of views.csv,
and checks that the views are the same ones. The tables join the column by row. A learned
model's views job computes CPIPS inline (settings key `cpips`): it waits for training anyway.
Any provider works here; the pipeline uses it for the anchors.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import pandas as pd
import torch

from coarse2fine.data.images import image_to_tensor
from coarse2fine.data.view import StudyView, open_view
from coarse2fine.data.manifest import read_manifest
from coarse2fine.evaluate.cpips import CPIPS
from coarse2fine.evaluate.views import EVAL_SPLITS, build_provider

log = logging.getLogger("coarse2fine.evaluate")
KEY = ["image", "codec", "rate_point", "level"]


@torch.no_grad()
def cpips_of_views(settings: dict, manifest: Path, views_csv: Path, checkpoint: Path) -> pd.DataFrame:
    torch.set_num_threads(int(settings.get("threads", 1)))
    views = pd.read_csv(views_csv, dtype={"rate_point": str, "codec": str})
    views["level"] = views["level"].astype("Int64")
    table, root = read_manifest(manifest, splits=tuple(settings.get("splits", EVAL_SPLITS)))
    table = table[table["path"].isin(set(views["image"]))]
    provider = build_provider(settings["provider"])
    metric = CPIPS.from_checkpoint(checkpoint)
    rows, study_view = [], StudyView.from_settings(settings.get("view"))
    for item in table.itertuples(index=False):
        original = open_view(Path(root) / item.path, study_view)
        reference = metric.features(image_to_tensor(original))
        for view in provider(item.path, original):
            distance = 0.0 if view.num_bytes is None else metric.feature_distance(reference, metric.features(view.image))
            rows.append({"image": item.path, "codec": view.codec, "rate_point": view.rate_point,
                         "level": view.level, "cpips": distance})
    frame = pd.DataFrame(rows, columns=[*KEY, "cpips"])
    frame["level"] = frame["level"].astype("Int64")
    merged = views[KEY].merge(frame, on=KEY, how="left", validate="one_to_one")
    if len(frame) != len(views) or merged["cpips"].isna().any():
        raise ValueError(f"{views_csv}: the provider gave {len(frame)} views, views.csv has {len(views)} "
                         "(or other ones): rerun the views job")
    return merged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="CPIPS of every view of one provider (cpips.csv beside views.csv).")
    parser.add_argument("--settings", required=True, help="JSON: the views job's settings (provider, splits, threads)")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--views", type=Path, required=True, help="the provider's views.csv")
    parser.add_argument("--checkpoint", type=Path, required=True, help="codec trained with the classifier")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    frame = cpips_of_views(json.loads(args.settings), args.manifest, args.views, args.checkpoint)
    frame.to_csv(args.output, index=False)
    log.info("%d views: CPIPS written to %s", len(frame), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
