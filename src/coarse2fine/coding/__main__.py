"""Pipeline entry points of the bitstreams stage (called by workflow/rules/bitstreams.smk).

    python -m coarse2fine.coding encode-split --model CKPT --manifest CSV --streams DIR --sizes CSV [--settings JSON]
    python -m coarse2fine.coding check-split --model CKPT --streams DIR --sizes CSV --report JSON
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import torch

from .split import check_split, encode_split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coarse2fine.coding")
    sub = parser.add_subparsers(dest="command", required=True)
    enc = sub.add_parser("encode-split", help="encode the evaluation split for one model")
    enc.add_argument("--manifest", type=Path, required=True)
    enc.add_argument("--sizes", type=Path, required=True)
    enc.add_argument("--settings", type=json.loads, default={}, help="the bitstreams config section as JSON")
    chk = sub.add_parser("check-split", help="decode every stream at every level in a fresh process")
    chk.add_argument("--sizes", type=Path, required=True)
    chk.add_argument("--report", type=Path, required=True)
    chk.add_argument("--decoded", type=Path, default=None, help="keep the decoded images here as 8-bit PNG")
    for p in (enc, chk):
        p.add_argument("--model", type=Path, required=True)
        p.add_argument("--streams", type=Path, required=True)
        p.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    if args.command == "encode-split":
        sizes = encode_split(args.model, args.manifest, args.streams, args.sizes, args.settings)
        print(sizes.groupby("level")[["bpp", "bpp_estimated"]].mean().to_string())
        return 0
    result = check_split(args.model, args.streams, args.sizes, args.report, args.decoded)
    if not result["bit_exact"]:
        print("\n".join(result["mismatches"]), file=sys.stderr)
        return 1
    print(f"{result['streams']} streams, {result['decodes']} decodes, all bit-exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
