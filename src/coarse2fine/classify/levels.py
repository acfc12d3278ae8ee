"""Predictions at every level of a class hierarchy by prob-sum (the paper's rule).

A coarse level maps each of the 1000 classes to a cluster. The probability of a cluster is the
sum of the softmax probabilities of its classes; the predicted cluster is the most probable one.
This is not the same as the cluster of the top-1 class: many weakly scored classes of one
cluster can outweigh a single strong class of another. The finest level is the class itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coarse2fine.hierarchy.classes import NUM_CLASSES

# numpy, not torch: the tables, the receiver and the figures predict from stored logits, and a
# job that needs no network starts 1 s sooner without importing torch (BENCHMARKS.md).


def _as_array(values) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor, wherever it lives
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def check_level_map(level_map, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """A (num_classes,) int64 array of cluster ids 0..K-1, or a ValueError naming the problem."""
    level_map = _as_array(level_map)
    if level_map.ndim != 1 or level_map.size != num_classes:
        raise ValueError(
            f"a level map must have one cluster id per class: shape {tuple(level_map.shape)}, expected ({num_classes},)"
        )
    if not np.issubdtype(level_map.dtype, np.integer):
        raise ValueError(f"a level map must hold integer cluster ids, got {level_map.dtype}")
    if int(level_map.min()) < 0:
        raise ValueError("a level map holds a negative cluster id")
    return level_map.astype(np.int64)


def cluster_probabilities(probs, level_map, num_clusters: int | None = None) -> np.ndarray:
    """Sum class probabilities (N, 1000) into cluster probabilities (N, K)."""
    probs = _as_array(probs)
    level_map = check_level_map(level_map, probs.shape[-1])
    k = int(level_map.max()) + 1 if num_clusters is None else int(num_clusters)
    if k <= int(level_map.max()):
        raise ValueError(f"num_clusters={k} but the level map uses cluster id {int(level_map.max())}")
    out = np.zeros((probs.shape[0], k), dtype=probs.dtype)
    np.add.at(out.T, level_map, probs.T)
    return out


def softmax64(logits) -> np.ndarray:
    """Softmax over the classes in float64 (the prob-sums of 1000 small numbers need it)."""
    logits = _as_array(logits).astype(np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class LevelPredictions:
    """Per image: the top-1 class, and the prob-sum cluster at each coarse level (coarse first)."""

    predicted_class: np.ndarray  # (N,)
    predicted_clusters: list[np.ndarray]  # one (N,) array per coarse level
    cluster_confidence: list[np.ndarray]  # summed probability of the predicted cluster
    class_confidence: np.ndarray | None = None  # (N,) softmax probability of the predicted class

    @property
    def num_levels(self) -> int:
        """Coarse levels plus the finest (class) level."""
        return len(self.predicted_clusters) + 1

    def at_level(self, level: int) -> np.ndarray:
        """Prediction at level 1..num_levels; the last level is the class index."""
        if not 1 <= level <= self.num_levels:
            raise ValueError(f"level {level} outside 1..{self.num_levels}")
        return self.predicted_class if level == self.num_levels else self.predicted_clusters[level - 1]

    def confidence_at(self, level: int) -> np.ndarray:
        """Prob-sum confidence of the prediction at level 1..num_levels (the class's softmax
        probability at the last level): what a receiver compares with its threshold."""
        if not 1 <= level <= self.num_levels:
            raise ValueError(f"level {level} outside 1..{self.num_levels}")
        return self.class_confidence if level == self.num_levels else self.cluster_confidence[level - 1]


def prob_sum_predictions(logits, level_maps) -> LevelPredictions:
    """Prob-sum predictions at every coarse level given by `level_maps` (coarse to fine); logits
    (N, 1000) as a numpy array or a torch tensor."""
    logits = _as_array(logits)
    if logits.ndim != 2 or logits.shape[1] != NUM_CLASSES:
        raise ValueError(f"expected logits of shape (N, {NUM_CLASSES}), got {tuple(logits.shape)}")
    probs = softmax64(logits)
    clusters, confidence = [], []
    for level_map in level_maps:
        summed = cluster_probabilities(probs, level_map)
        clusters.append(summed.argmax(axis=1))
        confidence.append(summed.max(axis=1))
    return LevelPredictions(probs.argmax(axis=1), clusters, confidence, probs.max(axis=1))


def true_clusters(class_idx, level_maps) -> list[np.ndarray]:
    """The true cluster at each coarse level for true class indices."""
    class_idx = np.asarray(class_idx, dtype=np.int64)
    return [check_level_map(m)[class_idx] for m in level_maps]


# -- the receiver's policy (receiver.py, evaluate/reports/receiver_table.py) ---------------------------------
def answered_level(segment: int, segments: int, hierarchy_levels: int, semantic: bool = True) -> int:
    """The hierarchy level that `segment` (1-based) of `segments` answers. A semantic codec's
    level n answers level n (capped at the class); a codec whose segments are rate points
    (DeepHQ, RMPGC, the base) spreads the hierarchy's levels over its segments, coarse first."""
    if semantic:
        return min(segment, hierarchy_levels)
    return max(1, math.ceil(segment * hierarchy_levels / segments))


def stop_level(confidences, threshold: float) -> int:
    """1-based index of the first confidence >= threshold; the last one if none is."""
    for k, confidence in enumerate(confidences, 1):
        if confidence >= threshold:
            return k
    return len(confidences)
