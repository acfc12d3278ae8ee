"""The paired statistics of the claim: McNemar's exact test, bootstrap intervals, paired differences."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binomtest


def mcnemar_exact(a: np.ndarray, b: np.ndarray) -> tuple[float, int, int]:
    """Two-sided exact McNemar p-value of paired 0/1 outcomes, and the discordant counts
    (a right and b wrong, a wrong and b right)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return 1.0, only_a, only_b
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue), only_a, only_b


def interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return float(lo), float(hi)


def paired_difference(a: np.ndarray, b: np.ndarray, draws: np.ndarray, confidence: float) -> dict:
    """Mean of a - b (in points), its paired bootstrap interval over the draws (rows of image
    indices), and McNemar's exact test."""
    diff = (np.asarray(a, float) - np.asarray(b, float)) * 100
    lo, hi = interval(diff[draws].mean(axis=1), confidence)
    p, only_a, only_b = mcnemar_exact(a, b)
    return {
        "n": len(diff),
        "diff": float(diff.mean()),
        "diff_lo": lo,
        "diff_hi": hi,
        "mcnemar_p": p,
        "only_method": only_a,
        "only_other": only_b,
    }
