"""Numbers that describe a hierarchy: sizes, nesting, semantic coherence, stability."""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.metrics import adjusted_rand_score


def size_stats(level: np.ndarray) -> dict:
    sizes = np.bincount(level)
    return {"k": int(len(sizes)), "min": int(sizes.min()), "median": float(np.median(sizes)), "max": int(sizes.max())}


def nesting(coarse: np.ndarray, fine: np.ndarray) -> dict:
    """How well the finer level nests in the coarser one.

    rate: share of finer clusters whose classes all lie in one coarse cluster (1 = a tree);
    purity: share of classes whose coarse cluster is the majority one of their finer cluster.
    """
    contained, agreeing = 0, 0
    for cluster in np.unique(fine):
        parents = np.bincount(coarse[fine == cluster])
        contained += int((parents > 0).sum() == 1)
        agreeing += int(parents.max())
    return {"rate": contained / len(np.unique(fine)), "purity": agreeing / len(fine)}


def mean_intra_cluster(similarity: np.ndarray, level: np.ndarray) -> float:
    """Mean similarity over all pairs of distinct classes that share a cluster."""
    same = level[:, None] == level[None, :]
    np.fill_diagonal(same, False)
    if not same.any():
        return float("nan")
    return float(similarity[same].mean())


def random_partition_intra_cluster(similarity: np.ndarray, level: np.ndarray, seed: int, repeats: int = 20) -> dict:
    """The same mean for random partitions with the same cluster sizes (shuffled assignments)."""
    rng = np.random.default_rng(seed)
    values = [mean_intra_cluster(similarity, rng.permutation(level)) for _ in range(repeats)]
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "repeats": repeats}


def pairwise_ari(partitions: list[np.ndarray]) -> dict:
    """Adjusted Rand index between every pair of partitions (stability across seeds)."""
    scores = [adjusted_rand_score(a, b) for a, b in itertools.combinations(partitions, 2)]
    return {
        "mean": float(np.mean(scores)),
        "min": float(np.min(scores)),
        "max": float(np.max(scores)),
        "pairs": len(scores),
    }


def typical_members(level: np.ndarray, similarity_to_cluster) -> list[list[int]]:
    """Per cluster, its class indices sorted from most to least typical.

    similarity_to_cluster(members) -> one score per member (higher = more typical).
    """
    ranked = []
    for cluster in range(level.max() + 1):
        members = np.flatnonzero(level == cluster)
        order = np.argsort(-np.asarray(similarity_to_cluster(members)), kind="stable")
        ranked.append(members[order].tolist())
    return ranked


def centroid_typicality(embeddings: np.ndarray):
    """Cosine similarity of each member to its cluster's mean embedding."""

    def score(members):
        centroid = embeddings[members].mean(axis=0)
        return embeddings[members] @ (centroid / max(np.linalg.norm(centroid), 1e-12))

    return score


def wup_typicality(similarity: np.ndarray):
    """Mean Wu-Palmer similarity of each member to the other members (the medoid first)."""

    def score(members):
        block = similarity[np.ix_(members, members)]
        return (block.sum(axis=1) - 1.0) / max(len(members) - 1, 1)

    return score
