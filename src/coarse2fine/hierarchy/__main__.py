"""`python -m coarse2fine.hierarchy {wup,embed,build,agreement}`: the hierarchy stage's commands."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def _threads(n: int, torch_too: bool) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    if torch_too:  # importing torch costs seconds; only the embedders need it
        import torch

        torch.set_num_threads(n)


def cmd_wup(args) -> None:
    from coarse2fine.hierarchy.classes import wnids
    from coarse2fine.hierarchy.similarity import wup_matrix

    matrix = wup_matrix(wnids())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.output, matrix)
    print(f"Wu-Palmer matrix {matrix.shape}, mean {matrix.mean():.4f} -> {args.output}")


def cmd_embed(args) -> None:
    from coarse2fine.hierarchy.embedders import compute_embeddings, embedder_settings

    settings = embedder_settings(json.loads(args.settings))
    embeddings = compute_embeddings(settings, args.output)
    print(f"embeddings {embeddings.shape} for {settings} -> {args.output}")


def cmd_build(args) -> None:
    from coarse2fine.hierarchy.build import build_hierarchy
    from coarse2fine.hierarchy.embedders import embedder_settings, load_embeddings

    spec = json.loads(args.settings)
    embeddings = load_embeddings(args.embeddings, embedder_settings(spec)) if args.embeddings else None
    summary = build_hierarchy(spec, np.load(args.wup), embeddings, args.output_dir)
    for level in summary["levels"]:
        print(level["level"], level["sizes"], f"wup {level['wup_intra_cluster']:.3f}",
              f"random {level['wup_random_partition']['mean']:.3f}", "seeds", level["ari_across_seeds"])


def cmd_agreement(args) -> None:
    from coarse2fine.hierarchy.agreement import write_agreement

    table = write_agreement(args.assignments, args.output_csv, args.output_md)
    print(f"{len(table)} comparisons -> {args.output_csv}, {args.output_md}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coarse2fine.hierarchy", description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("wup", help="Wu-Palmer similarity matrix of the 1000 classes (.npy)")
    p.add_argument("--output", type=Path, required=True)
    p.set_defaults(func=cmd_wup)
    p = sub.add_parser("embed", help="embed the class prompts of one embedder (.npz cache)")
    p.add_argument("--settings", required=True, help="JSON: embedder, prompt, clip{model, pretrained}")
    p.add_argument("--output", type=Path, required=True)
    p.set_defaults(func=cmd_embed)
    p = sub.add_parser("build", help="build one hierarchy of config/hierarchy.yaml")
    p.add_argument("--settings", required=True, help="JSON: one (validated) hierarchy entry")
    p.add_argument("--wup", type=Path, required=True)
    p.add_argument("--embeddings", type=Path, default=None)
    p.add_argument("--output-dir", type=Path, required=True)
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("agreement", help="ARI table across the built hierarchies")
    p.add_argument("--assignments", nargs="+", type=Path, required=True)
    p.add_argument("--output-csv", type=Path, required=True)
    p.add_argument("--output-md", type=Path, required=True)
    p.set_defaults(func=cmd_agreement)
    args = parser.parse_args(argv)
    _threads(args.threads, torch_too=args.command == "embed")
    start = time.perf_counter()
    args.func(args)
    print(f"{args.command}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
