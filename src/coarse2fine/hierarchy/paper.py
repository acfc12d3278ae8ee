"""The paper's released hierarchy (K = 10, K = 100 over the ImageNet classes; resources/
paper_hierarchy): the reference every clustering is compared with, read in one place."""

from __future__ import annotations

import numpy as np

from coarse2fine.hierarchy.assignments import read_level_file
from coarse2fine.hierarchy.config import resolve_path

PAPER_LEVELS = {
    10: "package:paper_hierarchy/paper_clip_kmeans_K10.csv",
    100: "package:paper_hierarchy/paper_clip_kmeans_K100.csv",
}


def paper_levels() -> dict[int, np.ndarray]:
    """{K: the class -> cluster map of that level}, checked as any level file is."""
    return {k: read_level_file(resolve_path(p), expected_k=k) for k, p in PAPER_LEVELS.items()}


def paper_level_maps(num_coarse_levels: int = len(PAPER_LEVELS)) -> list[np.ndarray]:
    """The first `num_coarse_levels` maps, coarse to fine."""
    if not 1 <= num_coarse_levels <= len(PAPER_LEVELS):
        raise ValueError(f"the paper's hierarchy has {len(PAPER_LEVELS)} coarse levels, asked for {num_coarse_levels}")
    levels = paper_levels()
    return [np.asarray(levels[k], dtype=np.int64) for k in sorted(levels)[:num_coarse_levels]]
