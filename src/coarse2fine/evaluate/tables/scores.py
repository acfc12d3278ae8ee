"""How a prefix is scored over a set of images: top-1 and agreement as plain means, and their
balanced forms, which a shift of the predicted-cluster prior cannot raise (cluster_prior.py).

Balanced accuracy weighs every true cluster present equally, so on a few dozen photos a cluster
of two photos moves it by several points per photo. The sensitivity analysis registered before
the rerun (docs/preregistration.md, amendment 2) recomputes it with the clusters of fewer than
SMALL_CLUSTER_PHOTOS photos pooled into one, and with them dropped."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from coarse2fine.evaluate.tables.cluster_prior import balanced_from_correct

# A true cluster with fewer photos than this is "small" for the sensitivity analysis (registered
# in docs/preregistration.md before the rerun: at 5, one photo moves a cluster's recall by 20
# points or more).
SMALL_CLUSTER_PHOTOS = 5


@dataclass(frozen=True)
class Score:
    """One way of scoring a prefix over a set of images: the mean of a per-image 0/1 column, or,
    with `truth`, its balanced form (the mean over the truth's clusters present), which a shift
    of the predicted-cluster prior cannot raise."""

    name: str
    column: str  # correct (against the label) | agree (with the uncompressed view's prediction)
    truth: str | None = None  # true (the label's cluster) | ref (the uncompressed prediction)
    # sensitivity analysis: the truth's small clusters "pooled" into one, or "dropped"
    small_clusters: str | None = None

    def at(self, level: int) -> str:
        return f"{self.column}_L{level}"

    def aggregate(self, values: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
        """Score per column of `values` (images x rate points)."""
        if self.truth is None:
            with np.errstate(invalid="ignore"):
                return np.nanmean(values, axis=0)
        return np.array([balanced_from_correct(values[:, j], truth) for j in range(values.shape[1])])


SCORES = (
    Score("top-1", "correct"),
    Score("agreement", "agree"),
    Score("balanced top-1", "correct", "true"),
    Score("balanced agreement", "agree", "ref"),
    Score(f"balanced top-1, clusters under {SMALL_CLUSTER_PHOTOS} photos pooled", "correct", "true", "pooled"),
    Score(f"balanced top-1, clusters under {SMALL_CLUSTER_PHOTOS} photos dropped", "correct", "true", "dropped"),
)


def small_clusters_handled(truth: pd.Series, how: str | None) -> pd.Series:
    """Each image's cluster with the clusters of fewer than SMALL_CLUSTER_PHOTOS images (counted
    over every image, once, not per resample) pooled into one (-1) or dropped (NaN: left out)."""
    if how is None:
        return truth
    if how not in ("pooled", "dropped"):
        raise ValueError(f"small_clusters must be 'pooled' or 'dropped', not {how!r}")
    counts = truth.map(truth.value_counts())
    small = truth.notna() & (counts < SMALL_CLUSTER_PHOTOS)
    return truth.mask(small, -1.0 if how == "pooled" else np.nan)


def curve_truth(table: pd.DataFrame, codec: str, level: int, score: Score) -> pd.Series | None:
    """Each image's cluster that `score` balances over (None for a plain mean)."""
    if score.truth is None:
        return None
    rows = table[table["codec"] == codec]
    return small_clusters_handled(rows.groupby("image")[f"{score.truth}_L{level}"].first(), score.small_clusters)
