"""How a prefix is scored over a set of images: top-1 and agreement as plain means, and their
balanced forms, which a shift of the predicted-cluster prior cannot raise (cluster_prior.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from coarse2fine.evaluate.tables.cluster_prior import balanced_from_correct


@dataclass(frozen=True)
class Score:
    """One way of scoring a prefix over a set of images: the mean of a per-image 0/1 column, or,
    with `truth`, its balanced form (the mean over the truth's clusters present), which a shift
    of the predicted-cluster prior cannot raise."""

    name: str
    column: str  # correct (against the label) | agree (with the uncompressed view's prediction)
    truth: str | None = None  # true (the label's cluster) | ref (the uncompressed prediction)

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
)


def curve_truth(table: pd.DataFrame, codec: str, level: int, score: Score) -> pd.Series | None:
    """Each image's cluster that `score` balances over (None for a plain mean)."""
    if score.truth is None:
        return None
    rows = table[table["codec"] == codec]
    return rows.groupby("image")[f"{score.truth}_L{level}"].first()
