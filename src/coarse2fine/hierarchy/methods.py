"""Clustering methods: each returns one cluster-id array of shape (1000,) per coarse level.

- `kmeans` (the paper's): k-means on the normalised text embeddings, each level on its own,
  so levels need not nest.
- `nested`: k-means at the finest coarse level; each coarser level clusters the finer level's
  centroids (weighted by cluster size), so every coarse cluster is a union of finer ones.
- `wordnet_depth` (the paper's baseline): each class is grouped by one ancestor on its WordNet
  hypernym path, cut to give about K groups: `split` (default) refines the largest group one
  level deeper at a time, `depth` uses one depth for every class. Classes with several hypernym
  paths use one canonical path: the longest (the depth nltk's Wu-Palmer uses), ties to the
  first in synset-name order. See docs/hierarchy.md.
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


def _kmeans(points: np.ndarray, k: int, seed: int, n_init: int, weights: np.ndarray | None = None) -> KMeans:
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(points, sample_weight=weights)


@register_method("kmeans")
def kmeans_levels(ks: list[int], seed: int, embeddings: np.ndarray, n_init: int = 10, **_) -> list[np.ndarray]:
    return [canonical_ids(_kmeans(embeddings, k, seed, n_init).labels_) for k in ks]


@register_method("nested")
def nested_levels(ks: list[int], seed: int, embeddings: np.ndarray, n_init: int = 10, **_) -> list[np.ndarray]:
    finest = _kmeans(embeddings, ks[-1], seed, n_init)
    levels = [finest.labels_]
    centroids = finest.cluster_centers_
    sizes = np.bincount(finest.labels_, minlength=ks[-1]).astype(np.float64)
    for k in reversed(ks[:-1]):
        coarse = _kmeans(centroids, k, seed, n_init, weights=sizes)
        levels.insert(0, coarse.labels_[levels[0]])  # class -> finer cluster -> coarse cluster
        centroids = coarse.cluster_centers_
        sizes = np.bincount(coarse.labels_, weights=sizes, minlength=k)
    return [canonical_ids(level) for level in levels]


def canonical_hypernym_path(wnid: str) -> list:
    """Root-to-class hypernym path: the longest one, ties to the first in synset-name order."""
    paths = synset_from_wnid(wnid).hypernym_paths()
    longest = max(len(p) for p in paths)
    return min((p for p in paths if len(p) == longest), key=lambda p: [s.name() for s in p])


def _ancestor(path: list, depth: int):
    """The ancestor at `depth` (0 = root); a class shallower than that stands for itself."""
    return path[min(depth, len(path) - 1)]


def wordnet_cut_depth(paths: list[list], k: int) -> dict[int, int]:
    """cut: depth. One depth for all classes: the one whose number of groups is closest to k
    (log ratio; ties to the shallower). Returns {class: depth}."""
    deepest = max(len(p) for p in paths)
    counts = {d: len({_ancestor(p, d) for p in paths}) for d in range(deepest)}
    depth = min(counts, key=lambda d: (abs(math.log(counts[d] / k)), d))
    return {i: depth for i in range(len(paths))}


def wordnet_cut_split(paths: list[list], k: int) -> dict[int, int]:
    """cut: split. Start with every class under the root; repeatedly replace the largest group
    by its children one level deeper (a group with a single child just moves down) until about
    k groups: a split that would overshoot k is taken only if it lands closer to k. Balanced
    groups, each still one WordNet ancestor; depths differ between branches. Returns {class: depth}."""
    depth_of = {i: 0 for i in range(len(paths))}

    def groups():
        found = {}
        for i, d in depth_of.items():
            found.setdefault(_ancestor(paths[i], d), []).append(i)
        return found

    def split(members):
        """Depths after splitting one group: descend until it has more than one child."""
        trial = {i: depth_of[i] for i in members}
        while True:
            if all(trial[i] >= len(paths[i]) - 1 for i in members):
                return None  # only leaves: cannot split
            trial = {i: min(d + 1, len(paths[i]) - 1) for i, d in trial.items()}
            if len({_ancestor(paths[i], d) for i, d in trial.items()}) > 1:
                return trial

    while True:
        current = groups()
        if len(current) >= k:
            return depth_of
        chosen, overshoot = None, None
        for members in sorted(current.values(), key=len, reverse=True):
            trial = split(members)
            if trial is None:
                continue
            count = len(current) - 1 + len({_ancestor(paths[i], d) for i, d in trial.items()})
            if count <= k:
                chosen = trial  # the largest group that can be split without overshooting
                break
            if overshoot is None or count < overshoot[0]:
                overshoot = (count, trial)
        if chosen is None:
            if overshoot is None or overshoot[0] - k >= k - len(current):
                return depth_of
            chosen = overshoot[1]
        depth_of.update(chosen)


WORDNET_CUTS = {"split": wordnet_cut_split, "depth": wordnet_cut_depth}


def wordnet_ancestors(ks: list[int], cut: str = "split") -> list[list]:
    """Per level, the WordNet ancestor synset that names each class's group."""
    paths = [canonical_hypernym_path(w) for w in class_wnids()]
    levels = []
    for k in ks:
        depth_of = WORDNET_CUTS[cut](paths, k)
        levels.append([_ancestor(p, depth_of[i]) for i, p in enumerate(paths)])
    return levels


@register_method("wordnet_depth")
def wordnet_depth_levels(ks: list[int], wordnet_cut: str = "split", **_) -> list[np.ndarray]:
    return [
        canonical_ids(np.unique([s.name() for s in level], return_inverse=True)[1])
        for level in wordnet_ancestors(ks, wordnet_cut)
    ]


@register_method("file")
def file_levels(ks: list[int], paths: list[str], **_) -> list[np.ndarray]:
    return [read_level_file(resolve_path(p), expected_k=k) for p, k in zip(paths, ks)]


def build_levels(spec: dict, seed: int, embeddings: np.ndarray | None = None) -> list[np.ndarray]:
    """Cluster ids per coarse level for one hierarchy entry and one seed."""
    method = METHODS.get(spec["method"])
    if method is None:
        raise ValueError(f"unknown method {spec['method']!r} (known: {', '.join(METHODS)})")
    return method(
        ks=list(spec["ks"]),
        seed=seed,
        embeddings=embeddings,
        paths=spec.get("paths"),
        n_init=spec.get("n_init", 10),
        wordnet_cut=spec.get("wordnet_cut", "split"),
    )


def is_seeded(method: str) -> bool:
    """Methods whose result depends on the seed (and so have a stability to measure)."""
    return method in ("kmeans", "nested")


def uses_embeddings(method: str) -> bool:
    return method in ("kmeans", "nested")
