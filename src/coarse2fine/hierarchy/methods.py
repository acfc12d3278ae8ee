"""Clustering methods: each returns one cluster-id array of shape (1000,) per coarse level.

- `kmeans` (the paper's): k-means on the normalised text embeddings, each level on its own,
  so levels need not nest.
- `nested`: k-means at the finest coarse level; each coarser level clusters the finer level's
  centroids (weighted by cluster size), so every coarse cluster is a union of finer ones.
- `wordnet_depth` (the paper's baseline): each class is cut at one depth of its WordNet
  hypernym path; per level, the depth whose number of groups is closest to K (in ratio).
  Classes with several hypernym paths use one canonical path: the longest (the depth nltk's
  Wu-Palmer uses), ties to the first in name order. See docs/hierarchy.md.
- `file`: levels read from CSVs in the paper's layout.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.cluster import KMeans

from coarse2fine.hierarchy.assignments import canonical_ids, read_level_file
from coarse2fine.hierarchy.classes import wnids as class_wnids
from coarse2fine.hierarchy.config import resolve_path
from coarse2fine.hierarchy.wordnet import synset_from_wnid

METHODS = {}


def register_method(name):
    def wrap(fn):
        METHODS[name] = fn
        return fn
    return wrap


def _kmeans(points: np.ndarray, k: int, seed: int, weights: np.ndarray | None = None) -> KMeans:
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit(points, sample_weight=weights)


@register_method("kmeans")
def kmeans_levels(ks: list[int], seed: int, embeddings: np.ndarray, **_) -> list[np.ndarray]:
    return [canonical_ids(_kmeans(embeddings, k, seed).labels_) for k in ks]


@register_method("nested")
def nested_levels(ks: list[int], seed: int, embeddings: np.ndarray, **_) -> list[np.ndarray]:
    finest = _kmeans(embeddings, ks[-1], seed)
    levels = [finest.labels_]
    centroids = finest.cluster_centers_
    sizes = np.bincount(finest.labels_, minlength=ks[-1]).astype(np.float64)
    for k in reversed(ks[:-1]):
        coarse = _kmeans(centroids, k, seed, weights=sizes)
        levels.insert(0, coarse.labels_[levels[0]])  # class -> finer cluster -> coarse cluster
        centroids = coarse.cluster_centers_
        sizes = np.bincount(coarse.labels_, weights=sizes, minlength=k)
    return [canonical_ids(level) for level in levels]


def canonical_hypernym_path(wnid: str) -> list:
    """Root-to-class hypernym path: the longest one, ties to the first in synset-name order."""
    paths = synset_from_wnid(wnid).hypernym_paths()
    longest = max(len(p) for p in paths)
    return min((p for p in paths if len(p) == longest), key=lambda p: [s.name() for s in p])


def wordnet_groups(paths: list[list], depth: int) -> list[str]:
    """The ancestor at `depth` (0 = root) of each class; classes shallower keep themselves."""
    return [p[min(depth, len(p) - 1)].name() for p in paths]


def wordnet_depth_for(paths: list[list], k: int) -> int:
    """The depth whose number of groups is closest to k (log ratio; ties to the shallower)."""
    deepest = max(len(p) for p in paths)
    counts = {d: len(set(wordnet_groups(paths, d))) for d in range(deepest)}
    return min(counts, key=lambda d: (abs(math.log(counts[d] / k)), d))


@register_method("wordnet_depth")
def wordnet_depth_levels(ks: list[int], **_) -> list[np.ndarray]:
    paths = [canonical_hypernym_path(w) for w in class_wnids()]
    levels = []
    for k in ks:
        groups = wordnet_groups(paths, wordnet_depth_for(paths, k))
        levels.append(canonical_ids(np.unique(groups, return_inverse=True)[1]))
    return levels


@register_method("file")
def file_levels(ks: list[int], paths: list[str], **_) -> list[np.ndarray]:
    return [read_level_file(resolve_path(p), expected_k=k) for p, k in zip(paths, ks)]


def build_levels(spec: dict, seed: int, embeddings: np.ndarray | None = None) -> list[np.ndarray]:
    """Cluster ids per coarse level for one hierarchy entry and one seed."""
    method = METHODS.get(spec["method"])
    if method is None:
        raise ValueError(f"unknown method {spec['method']!r} (known: {', '.join(METHODS)})")
    return method(ks=list(spec["ks"]), seed=seed, embeddings=embeddings, paths=spec.get("paths"))


def is_seeded(method: str) -> bool:
    """Methods whose result depends on the seed (and so have a stability to measure)."""
    return method in ("kmeans", "nested")


def uses_embeddings(method: str) -> bool:
    return method in ("kmeans", "nested")
