"""Wu-Palmer similarity between all pairs of ImageNet classes, fast and equal to nltk's.

nltk's `Synset.wup_similarity` takes about 0.4 ms a pair: the 500k pairs of the 1000 classes
would take minutes. The score depends only on the classes' ancestors, so we index every ancestor
once and score a whole row of pairs with numpy, following nltk's rules step by step (the noun
synsets of WordNet 3.0 share the root `entity`, so no simulated root is needed):
  LCS   = the common ancestor with the largest *min* depth (nltk's use_min_depth=True); ties go
          to the first synset of the pair where it qualifies, else to the smallest synset name;
  depth = max_depth(LCS) + 1;
  len_x = shortest path distance from x to the LCS (over their common ancestors) + depth;
  wup   = 2 * depth / (len_a + len_b).
tests/test_hierarchy.py checks the result against nltk on random pairs.
"""

from __future__ import annotations

import functools

import numpy as np

from coarse2fine.hierarchy.classes import wnids
from coarse2fine.hierarchy.wordnet import synset_from_wnid, wup_similarity


def _path_distance(dist_a: dict, dist_b: dict) -> int:
    """nltk's shortest_path_distance from two {ancestor: hypernym distance} maps."""
    return min(d + dist_b[s] for s, d in dist_a.items() if s in dist_b)


def wup_matrix(wnids: list[str]) -> np.ndarray:
    """Symmetric (n, n) float32 matrix of Wu-Palmer similarities, 1 on the diagonal.

    Entry [i, j] with i < j is nltk's `synset_i.wup_similarity(synset_j)`.
    """
    synsets = [synset_from_wnid(w) for w in wnids]
    ancestors = [s._shortest_hypernym_paths(False) for s in synsets]  # includes s itself at 0
    vocab = sorted({a for dist in ancestors for a in dist})  # sorted by synset name, as nltk
    column = {a: k for k, a in enumerate(vocab)}
    n, m = len(synsets), len(vocab)
    min_depth = np.array([a.min_depth() for a in vocab], dtype=np.int64)
    max_depth = np.array([a.max_depth() for a in vocab], dtype=np.int64)
    # LCS choice as one integer: deeper min depth first, then (on ties) the smaller name.
    base_score = min_depth * (m + 2) + (m - np.arange(m))

    # path[i, k]: shortest path distance from class i to its ancestor k (inf if not an ancestor).
    path = np.full((n, m), np.inf)
    ancestor_dist = {}
    for i, dist in enumerate(ancestors):
        for a in dist:
            if a not in ancestor_dist:
                ancestor_dist[a] = a._shortest_hypernym_paths(False)
            path[i, column[a]] = _path_distance(dist, ancestor_dist[a])
    is_ancestor = np.isfinite(path)

    matrix = np.eye(n, dtype=np.float32)
    for i in range(n - 1):
        cols = np.flatnonzero(is_ancestor[i])
        score = np.broadcast_to(base_score[cols], (n - i - 1, len(cols))).copy()
        self_col = np.flatnonzero(cols == column[synsets[i]])
        score[:, self_col] = min_depth[cols[self_col]] * (m + 2) + (m + 1)  # nltk prefers self
        score[~is_ancestor[i + 1 :, cols]] = -1
        lcs = cols[np.argmax(score, axis=1)]
        depth = max_depth[lcs] + 1
        len_a = path[i, lcs] + depth
        len_b = path[np.arange(i + 1, n), lcs] + depth
        row = 2.0 * depth / (len_a + len_b)
        matrix[i, i + 1 :] = row
        matrix[i + 1 :, i] = row
    return matrix


@functools.lru_cache(maxsize=None)
def _wup_by_index(pred: int, true: int) -> float:
    names = wnids()
    return wup_similarity(names[pred], names[true])


def wu_palmer(predicted_class, true_class) -> np.ndarray:
    """Wu-Palmer similarity (WordNet) between predicted and true class indices; NaN where the
    true class is unknown (negative or NA)."""
    pred = np.asarray(predicted_class, dtype=np.int64)
    true = np.asarray(true_class, dtype=np.float64)
    out = np.full(pred.shape, np.nan)
    for i, (p, t) in enumerate(zip(pred, true)):
        if np.isfinite(t) and t >= 0:
            out[i] = _wup_by_index(int(p), int(t))
    return out
