"""Bjontegaard deltas between two rate-metric curves.

Both curves are sets of (rate R in bpp, metric D) points, e.g. top-1 accuracy at one level.
With r = ln R and polynomials of degree d = min(3, points - 1) fitted by least squares:

BD-rate (the average rate difference at equal metric, in percent):
    r_a(D), r_t(D) fitted as functions of D for anchor a and test t,
    over the overlap [D_lo, D_hi] of the two curves' metric ranges,
    delta = (1 / (D_hi - D_lo)) * integral_{D_lo}^{D_hi} (r_t(D) - r_a(D)) dD,
    BD-rate = (exp(delta) - 1) * 100.      Negative: the test codec needs fewer bits.

BD-metric (BD-accuracy, BD-PSNR: the average metric difference at equal rate):
    D_a(r), D_t(r) fitted as functions of r over the overlap [r_lo, r_hi] of the log-rates,
    BD-metric = (1 / (r_hi - r_lo)) * integral_{r_lo}^{r_hi} (D_t(r) - D_a(r)) dr.

This is Bjontegaard's VCEG-M33 cubic fit with natural logarithms (his log10 gives the same
numbers). The result is NaN where a curve has fewer than 2 distinct points or the two curves do
not overlap. Accuracy curves from few images are noisy and need not be monotone; the fit then
still averages, but read such numbers with their sample size in mind.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from coarse2fine.evaluate.tables.summary import curve
from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC


def _prepare(rate, metric) -> tuple[np.ndarray, np.ndarray]:
    rate, metric = np.asarray(rate, dtype=float), np.asarray(metric, dtype=float)
    if rate.shape != metric.shape or rate.ndim != 1:
        raise ValueError(f"rate and metric must be 1-D and of equal length: {rate.shape} vs {metric.shape}")
    keep = np.isfinite(rate) & np.isfinite(metric)
    if np.any(rate[keep] <= 0):
        raise ValueError("rates must be positive (bits per pixel)")
    order = np.argsort(rate[keep])
    return np.log(rate[keep][order]), metric[keep][order]


def _average_gap(x_a, y_a, x_t, y_t) -> float:
    """Mean of (fit_t - fit_a) of y as a polynomial in x, over the overlap of the x ranges."""
    if len(np.unique(x_a)) < 2 or len(np.unique(x_t)) < 2:
        return math.nan
    lo, hi = max(x_a.min(), x_t.min()), min(x_a.max(), x_t.max())
    if not hi > lo:
        return math.nan
    integrals = []
    for x, y in ((x_a, y_a), (x_t, y_t)):
        degree = min(3, len(np.unique(x)) - 1)
        antiderivative = np.polyint(np.polyfit(x, y, degree))
        integrals.append(np.polyval(antiderivative, hi) - np.polyval(antiderivative, lo))
    return float((integrals[1] - integrals[0]) / (hi - lo))


def bd_rate(rate_anchor, metric_anchor, rate_test, metric_test) -> float:
    """Average rate difference of the test curve against the anchor at equal metric, in percent."""
    r_a, d_a = _prepare(rate_anchor, metric_anchor)
    r_t, d_t = _prepare(rate_test, metric_test)
    gap = _average_gap(d_a, r_a, d_t, r_t)
    return math.nan if math.isnan(gap) else (math.exp(gap) - 1.0) * 100.0


def bd_metric(rate_anchor, metric_anchor, rate_test, metric_test) -> float:
    """Average metric difference of the test curve against the anchor at equal rate."""
    r_a, d_a = _prepare(rate_anchor, metric_anchor)
    r_t, d_t = _prepare(rate_test, metric_test)
    return _average_gap(r_a, d_a, r_t, d_t)


def bd_table(summary: pd.DataFrame, ks: list[int], anchor: str) -> pd.DataFrame:
    """BD-rate (%) and BD-accuracy (percentage points) per level, and BD-PSNR (dB) on the
    full stream, of every codec against `anchor`."""
    if anchor not in set(summary["codec"]):
        raise ValueError(f"BD anchor {anchor!r} is not among the evaluated codecs {sorted(set(summary['codec']))}")
    rows = []
    codecs = sorted(set(summary["codec"]) - {anchor, REFERENCE_CODEC})
    for classifier in sorted(set(summary["classifier"])):
        for level, k in enumerate(ks, start=1):
            ref = curve(summary, anchor, classifier, level)
            for codec in codecs:
                test = curve(summary, codec, classifier, level)
                metric = f"correct_L{level}"
                rows.append(
                    {
                        "classifier": classifier,
                        "level": level,
                        "K": k,
                        "codec": codec,
                        "anchor": anchor,
                        "metric": "top1",
                        "points": len(test),
                        "bd_rate_percent": bd_rate(ref["bpp_actual"], ref[metric], test["bpp_actual"], test[metric]),
                        "bd_metric": 100 * bd_metric(ref["bpp_actual"], ref[metric], test["bpp_actual"], test[metric]),
                    }
                )
        ref = curve(summary, anchor, classifier, len(ks))
        for codec in codecs:
            test = curve(summary, codec, classifier, len(ks))
            rows.append(
                {
                    "classifier": classifier,
                    "level": len(ks),
                    "K": ks[-1],
                    "codec": codec,
                    "anchor": anchor,
                    "metric": "psnr",
                    "points": len(test),
                    "bd_rate_percent": bd_rate(ref["bpp_actual"], ref["psnr"], test["bpp_actual"], test["psnr"]),
                    "bd_metric": bd_metric(ref["bpp_actual"], ref["psnr"], test["bpp_actual"], test["psnr"]),
                }
            )
    return pd.DataFrame(rows)
