"""`c2f eval DIR`: every image of a folder coded and decoded at every level."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from coarse2fine.classify.names import CLASSIFIER_NAMES

from .common import device_argument, load_model, max_pixels_argument, model_path, positive_int
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
    p.add_argument(
        "--json",
        action="store_true",
        help="print JSON instead of a table: per level and per image, and CompressAI's results format "
        "(name, description, results: one entry per level) for `python -m compressai.utils.plot`",
    )
    p.add_argument("--name", help="the name the JSON gives the model (default: the checkpoint's folder)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes sharing the images, each loading the model once and taking its share of the threads "
        "(default 1; 2 or more pays off from a few images on)",
    )
    device_argument(p)
    max_pixels_argument(p)


def run_eval(args) -> int:
    # the folder and the checkpoint are checked before torch loads
    if not args.folder.is_dir():
        raise ValueError(f"{args.folder}: not a folder")
    model = model_path(args.model)
    from .streams import check_view

    check_view(args.view)
    if args.workers > 1 and args.device != "cpu":
        raise ValueError("--workers codes on the CPU (one model per process); give --device cpu or --workers 1")
    from coarse2fine.devices import device_of
    from coarse2fine.evaluate.views.folder import compressai_results, evaluate_folder, summary_table

    codec = load_model(args, model)
    classifier = None if args.classifier == "none" else args.classifier
    from tqdm import tqdm

    def progress(images, total=None):  # on standard error, so --json output stays clean
        return tqdm(
            images, desc=f"c2f eval {args.folder}", unit="image", total=total, disable=True if args.quiet else None
        )

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
    result["device"] = str(device_of(codec))  # times, and the pictures' last rounding, depend on it
    if not args.json:
        print(summary_table(result))
        print(f"device: {result['device']}")
        return 0
    name = args.name or _model_name(model)
    description = (
        f"c2f eval of {args.folder}, view {args.view}, device {result['device']}, actual file sizes (rANS), "
        f"one entry per level"
    )
    # allow_nan=False: a NaN or infinity would make the file unreadable to strict JSON readers
    print(json.dumps({**compressai_results(result, name, description), **result}, indent=2, allow_nan=False))
    return 0


def _model_name(model: Path) -> str:
    """The checkpoint's folder, relative to here where it can be (models/default/c2f)."""
    folder = model.resolve().parent
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)
