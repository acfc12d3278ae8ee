"""The coding stage's job commands (`python -m coarse2fine.coding <command>`): write the
evaluation split's streams for one model, and decode them all again in a fresh process."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _common(parser) -> None:
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--streams", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)


def encode_add_arguments(parser) -> None:
    _common(parser)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--sizes", type=Path, required=True)
    parser.add_argument("--settings", type=json.loads, default={}, help="the bitstreams config section as JSON")


def encode_run_command(args) -> int:
    import torch

    from .split import encode_split

    torch.set_num_threads(args.threads)
    sizes = encode_split(args.model, args.manifest, args.streams, args.sizes, args.settings)
    print(sizes.groupby("level")[["bpp", "bpp_estimated"]].mean().to_string())
    return 0


def check_add_arguments(parser) -> None:
    _common(parser)
    parser.add_argument("--sizes", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--decoded", type=Path, default=None, help="keep the decoded images here as 8-bit PNG")


def check_run_command(args) -> int:
    import torch

    from .split import check_split

    torch.set_num_threads(args.threads)
    result = check_split(args.model, args.streams, args.sizes, args.report, args.decoded)
    if not result["bit_exact"]:
        print("\n".join(result["mismatches"]), file=sys.stderr)
        return 1
    print(f"{result['streams']} streams, {result['decodes']} decodes, all bit-exact")
    return 0
