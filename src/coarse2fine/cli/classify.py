"""`c2f classify`: what a reference classifier sees at a level, or a receiver that stops when confident."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coarse2fine.classify.names import CLASSIFIER_NAMES

from .common import (
    device_argument,
    is_stdio,
    load_model,
    max_pixels_argument,
    model_path,
    read_stream,
    strict_argument,
    warn,
)


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
    p.add_argument(
        "stream",
        type=Path,
        help="a .c2f file, or - for standard input (read as it arrives); a stream cut inside a level segment "
        "is classified from its complete levels",
    )
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
    strict_argument(p)
    device_argument(p)
    max_pixels_argument(p)


def _answer_text(a: dict) -> str:
    from coarse2fine.classify.levels import NUM_CLASSES

    what = "class" if a["k"] == NUM_CLASSES else f"cluster (K={a['k']})"
    return f"{what} {a['id']}: {a['name']} (p={a['probability']:.3f})"


def run_classify(args) -> int:
    from .streams import cut_fields, received_stream

    # The stream (its header at least) and the hierarchy's file are checked before torch loads.
    if not args.hierarchy.is_file():
        raise ValueError(f"--hierarchy {args.hierarchy}: no such file")
    model = model_path(args.model)
    if args.until_confident is not None:
        from contextlib import nullcontext

        from coarse2fine.stream_reader import StreamReader

        if not is_stdio(args.stream) and not args.stream.is_file():
            raise ValueError(f"{args.stream}: no such file")
        with nullcontext(sys.stdin.buffer) if is_stdio(args.stream) else open(args.stream, "rb") as source:
            reader = StreamReader(source, allow_cut=not args.strict)  # reads the header: torch-free
            codec, hierarchy = _load(args, model)
            from coarse2fine.receiver import receive_until_confident

            result = receive_until_confident(
                reader, codec, hierarchy, args.classifier, args.until_confident, args.max_pixels
            )
        cut = result.pop("cut")
        if cut is not None:
            warn(args, f"{args.stream}: the stream is cut: {cut.describe(result['levels_total'])}")
        result["cut"] = cut_fields(cut, result["levels_total"])
        if args.json:
            print(json.dumps(result, indent=2))
            return 0
        reason = "confident" if result["confident"] else "end of stream, not confident"
        print(
            f"stopped at level {result['stopped_at_level']} of {result['levels_total']} ({reason}), "
            f"{result['bytes_read']} bytes read: {_answer_text(result['answer'])}"
        )
        return 0
    data = read_stream(args.stream)
    received = received_stream(args, args.stream, data)
    codec, hierarchy = _load(args, model)
    from coarse2fine.receiver import classify_stream

    result = classify_stream(data, codec, hierarchy, args.classifier, args.level, args.max_pixels, allow_cut=True)
    result["cut"] = cut_fields(received.cut, received.stream.header.num_levels_total)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"level {result['decoded_level']} of {result['levels_total']}: {_answer_text(result['answer'])}")
    for row in result["levels"]:
        print(f"  K={row['k']:>4}: {row['id']:>4} {row['name']} (p={row['probability']:.3f})")
    return 0


def _load(args, model):
    from coarse2fine.hierarchy.assignments import load_hierarchy

    # the codec on --device; the reference classifier reads the decoded picture on the CPU
    return load_model(args, model), load_hierarchy(args.hierarchy)
