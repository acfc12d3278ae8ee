"""`c2f classify`: what a reference classifier sees at a level, or a receiver that stops when confident."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coarse2fine.classify.names import CLASSIFIER_NAMES

from .common import max_pixels_argument, model_path, read_stream, set_threads


# -- classify ---------------------------------------------------------------------------------
def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}")
    return value


def classify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", type=Path, help="a .c2f file, or - for standard input (read as it arrives)")
    p.add_argument(
        "--model",
        type=Path,
        help="the codec checkpoint the stream was written with (default: the shipped default model)",
    )
    p.add_argument("--hierarchy", type=Path, required=True, help="assignments.csv of the hierarchy")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--level", type=int, default=None, help="decode the first N levels (default: all present)")
    which.add_argument(
        "--until-confident",
        type=_probability,
        metavar="P",
        help="read one level at a time and stop as soon as the answer at the level reached has "
        "prob-sum confidence >= P; reports the level, the answer and the bytes read",
    )
    p.add_argument(
        "--classifier",
        default="efficientnet_lite0",
        choices=sorted(CLASSIFIER_NAMES),
        help="reference classifier (default: %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    max_pixels_argument(p)


def _answer_text(a: dict) -> str:
    from coarse2fine.classify.levels import NUM_CLASSES

    what = "class" if a["k"] == NUM_CLASSES else f"cluster (K={a['k']})"
    return f"{what} {a['id']}: {a['name']} (p={a['probability']:.3f})"


def run_classify(args) -> int:
    from coarse2fine.coding import load_codec
    from coarse2fine.hierarchy.assignments import load_hierarchy
    from coarse2fine.receiver import classify_stream, receive_until_confident

    set_threads(args)
    codec, hierarchy = load_codec(model_path(args.model)), load_hierarchy(args.hierarchy)
    if args.until_confident is not None:
        if str(args.stream) == "-":
            result = receive_until_confident(
                sys.stdin.buffer, codec, hierarchy, args.classifier, args.until_confident, args.max_pixels
            )
        else:
            if not args.stream.is_file():
                raise ValueError(f"{args.stream}: no such file")
            with open(args.stream, "rb") as source:
                result = receive_until_confident(
                    source, codec, hierarchy, args.classifier, args.until_confident, args.max_pixels
                )
        if args.json:
            print(json.dumps(result, indent=2))
            return 0
        reason = "confident" if result["confident"] else "end of stream, not confident"
        print(
            f"stopped at level {result['stopped_at_level']} of {result['levels_total']} ({reason}), "
            f"{result['bytes_read']} bytes read: {_answer_text(result['answer'])}"
        )
        return 0
    data = sys.stdin.buffer.read() if str(args.stream) == "-" else read_stream(args.stream)
    result = classify_stream(data, codec, hierarchy, args.classifier, args.level, args.max_pixels)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"level {result['decoded_level']} of {result['levels_total']}: {_answer_text(result['answer'])}")
    for row in result["levels"]:
        print(f"  K={row['k']:>4}: {row['id']:>4} {row['name']} (p={row['probability']:.3f})")
    return 0
