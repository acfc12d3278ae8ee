"""The hierarchy stage's commands (`python -m coarse2fine.hierarchy <command>`): each step of
building the hierarchies, with its own thread count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _threads(n: int, torch_too: bool = False) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    if torch_too:  # importing torch costs seconds; only the embedders need it
        import torch

        torch.set_num_threads(n)


def _add_threads(parser) -> None:
    parser.add_argument("--threads", type=int, default=1)


def wup_add_arguments(parser) -> None:
    _add_threads(parser)
    parser.add_argument("--output", type=Path, required=True)


def wup_run_command(args) -> None:
    from coarse2fine.hierarchy.classes import wnids
    from coarse2fine.hierarchy.similarity import wup_matrix

    _threads(args.threads)
    matrix = wup_matrix(wnids())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.output, matrix)
    print(f"Wu-Palmer matrix {matrix.shape}, mean {matrix.mean():.4f} -> {args.output}")


def embed_add_arguments(parser) -> None:
    _add_threads(parser)
    parser.add_argument("--settings", required=True, help="JSON: embedder, prompt, clip{model, pretrained}")
    parser.add_argument("--output", type=Path, required=True)


def embed_run_command(args) -> None:
    from coarse2fine.hierarchy.embedders import compute_embeddings, embedder_settings

    _threads(args.threads, torch_too=True)
    settings = embedder_settings(json.loads(args.settings))
    embeddings = compute_embeddings(settings, args.output)
    print(f"embeddings {embeddings.shape} for {settings} -> {args.output}")


def build_add_arguments(parser) -> None:
    _add_threads(parser)
    parser.add_argument("--settings", required=True, help="JSON: one (validated) hierarchy entry")
    parser.add_argument("--wup", type=Path, required=True)
    parser.add_argument("--embeddings", type=Path, default=None)
    parser.add_argument("--output-dir", type=Path, required=True)


def build_run_command(args) -> None:
    from coarse2fine.hierarchy.build import build_hierarchy
    from coarse2fine.hierarchy.embedders import embedder_settings, load_embeddings

    _threads(args.threads)
    spec = json.loads(args.settings)
    embeddings = load_embeddings(args.embeddings, embedder_settings(spec)) if args.embeddings else None
    summary = build_hierarchy(spec, np.load(args.wup), embeddings, args.output_dir)
    for level in summary["levels"]:
        print(
            level["level"],
            level["sizes"],
            f"wup {level['wup_intra_cluster']:.3f}",
            f"random {level['wup_random_partition']['mean']:.3f}",
            "seeds",
            level["ari_across_seeds"],
        )


def agreement_add_arguments(parser) -> None:
    parser.add_argument("--assignments", nargs="+", type=Path, required=True)
    parser.add_argument("--output-csv", type=Path, required=True)
    parser.add_argument("--output-md", type=Path, required=True)


def agreement_run_command(args) -> None:
    from coarse2fine.hierarchy.agreement import write_agreement

    table = write_agreement(args.assignments, args.output_csv, args.output_md)
    print(f"{len(table)} comparisons -> {args.output_csv}, {args.output_md}")
