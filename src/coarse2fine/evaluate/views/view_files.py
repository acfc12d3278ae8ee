"""The files of a view folder, read and written in one place (torch-free).

A view folder (one per provider: results/metrics/views/anchor/<name>, .../learned/<model>):
views.csv (one row per image x view), logits.npz (one (rows, 1000) float32 array per
classifier, rows in views.csv order), classifiers.json (used and skipped, with the reason),
recon/ (evaluation crops of the first few images), and for an anchor evaluated with CPIPS a
cpips.csv written by its own job. A view is identified by VIEW_KEY; cpips.csv is joined to
views.csv on that key, never by row position.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from coarse2fine.classify.levels import NUM_CLASSES

REFERENCE_CODEC = "uncompressed"  # the original photo, in the study's view, as a "codec"
EVAL_SPLITS = ("val", "test")
VIEW_FILES = ("views.csv", "logits.npz", "classifiers.json")
VIEW_KEY = ["image", "codec", "rate_point", "level"]
CPIPS_FILE = "cpips.csv"


def read_view_table(path: Path) -> pd.DataFrame:
    """views.csv or cpips.csv with the key columns typed as written."""
    frame = pd.read_csv(path, dtype={"rate_point": str, "codec": str})
    frame["level"] = frame["level"].astype("Int64")
    if "label_idx" in frame:
        frame["label_idx"] = frame["label_idx"].astype("Int64")
    return frame


def join_cpips(views: pd.DataFrame, cpips: pd.DataFrame, source: Path | str) -> pd.DataFrame:
    """views with the cpips column of `cpips` joined on VIEW_KEY; every view must have one."""
    if cpips.duplicated(VIEW_KEY).any():
        raise ValueError(f"{source}: a view appears more than once")
    merged = views.merge(cpips[VIEW_KEY + ["cpips"]], on=VIEW_KEY, how="left", validate="many_to_one")
    if len(cpips) != len(views) or merged["cpips"].isna().any():
        raise ValueError(f"{source}: its views are not those of views.csv (rerun the CPIPS job)")
    return merged


def read_views(view_dir: Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """views.csv (with cpips.csv joined where there is one) and the logits of every classifier."""
    view_dir = Path(view_dir)
    frame = read_view_table(view_dir / "views.csv")
    with np.load(view_dir / "logits.npz") as npz:
        logits = {k: npz[k] for k in npz.files}
    for name, value in logits.items():
        if value.shape != (len(frame), NUM_CLASSES):
            raise ValueError(f"{view_dir}: logits of {name} have shape {value.shape}, views.csv has {len(frame)} rows")
    cpips_csv = view_dir / CPIPS_FILE
    if cpips_csv.is_file() and "cpips" not in frame:
        frame = join_cpips(frame, read_view_table(cpips_csv), cpips_csv)
    return frame, logits


def write_views(view_dir: Path, frame: pd.DataFrame, logits: dict[str, np.ndarray], info: dict) -> None:
    view_dir = Path(view_dir)
    view_dir.mkdir(parents=True, exist_ok=True)
    frame.to_csv(view_dir / "views.csv", index=False)
    np.savez_compressed(view_dir / "logits.npz", **logits)
    (view_dir / "classifiers.json").write_text(json.dumps(info, indent=2) + "\n")
