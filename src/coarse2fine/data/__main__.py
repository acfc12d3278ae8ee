"""`python -m coarse2fine.data --settings JSON --output data/<name>/manifest.csv`"""

import argparse
import json
import logging
import sys
from pathlib import Path

from .build import DatasetError, build_manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build a dataset manifest.")
    parser.add_argument("--settings", required=True, help="the config's `dataset` section as JSON")
    parser.add_argument("--output", required=True, type=Path, help="manifest.csv to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        table = build_manifest(json.loads(args.settings), args.output)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = table.groupby(["split", "label_source"]).size().to_dict()
    print(f"{args.output}: {len(table)} images; by split and label source: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
