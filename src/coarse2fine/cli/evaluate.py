"""`c2f eval DIR`: every image of a folder coded and decoded at every level."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from coarse2fine.classify.names import CLASSIFIER_NAMES

from .common import max_pixels_argument, model_path, positive_int, set_threads
from .streams import encode_view


# -- eval -------------------------------------------------------------------------------------
def eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, help="a folder of images (any sizes; searched recursively)")
    p.add_argument("--model", type=Path, help="codec checkpoint (default: the shipped default model)")
    p.add_argument("--view", default="native", help="what to code: native (default), model, or a size N (as encode)")
    p.add_argument(
        "--classifier",
        default="efficientnet_lite0",
        choices=[*sorted(CLASSIFIER_NAMES), "none"],
        help="reference classifier for top-1 agreement (default: %(default)s; none: skip)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (per level and per image) instead of a table")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes sharing the images, each loading the model once and taking its share of the threads "
        "(default 1; 2 or more pays off from a few images on)",
    )
    max_pixels_argument(p)


def run_eval(args) -> int:
    from coarse2fine.coding import load_codec
    from coarse2fine.evaluate.views.folder import evaluate_folder, summary_table

    set_threads(args)
    if not args.folder.is_dir():
        raise ValueError(f"{args.folder}: not a folder")
    model = model_path(args.model)
    codec = load_codec(model)
    classifier = None if args.classifier == "none" else args.classifier
    from tqdm import tqdm

    def progress(images, total=None):  # on standard error, so --json output stays clean
        return tqdm(images, desc=f"c2f eval {args.folder}", unit="image", total=total, disable=None)

    result = evaluate_folder(
        args.folder,
        codec,
        classifier,
        encode_view(args.view, codec),
        args.max_pixels,
        progress=progress,
        workers=args.workers,
        model=model,
    )
    print(json.dumps(result, indent=2) if args.json else summary_table(result))
    return 0
