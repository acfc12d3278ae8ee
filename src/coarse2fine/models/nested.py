"""Nested-interval quantisation: the interval maths of DeepHQ's hierarchical quantiser.

Every quantity is relative to the element's Gaussian mean (r = y - mean). An element's interval
starts unbounded. Each layer that codes the element cuts its current interval by that layer's
grid, the points origin + (m + 1/2) * step for integer m, into child pieces (the parent's own
bounds are kept) and keeps the piece holding r; the symbol is the index of that piece among its
siblings. An unbounded parent is cut into the whole grid at origin 0, so its "child" is the
ordinary quantisation bin [(n - 1/2) step, (n + 1/2) step) and its symbol the integer n.

Where a bounded parent's grid sits (`grid` of the DeepHQ codec):
- `centred` (DeepHQ's official coder): the origin is the parent's midpoint, so the cells are
  symmetric inside it; when the piece left at each edge would be under MIN_LEFTOVER (0.3) of a
  step, the step is widened so that whole cells fill the parent exactly (`centred_grid`);
- `mean`: the origin stays at the mean for every layer (this project's first reading), which
  leaves edge pieces of any width, narrow ones included.

Two implementations of the same maths:
- the training path (torch, differentiable in the steps and the Gaussian parameters):
  `interval_log_mass`;
- the coding path (numpy float64 + scipy's scalar ndtr, element by element, so the encoder and the
  decoder derive bit-identical CDFs whatever the thread count): `first_cut`, `last_cut`,
  `child_index`, `child_bounds`, `quantized_child_cdfs`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import ndtr

CDF_PRECISION = 16
CDF_TOTAL = 1 << CDF_PRECISION
MIN_LEFTOVER = 0.3  # DeepHQ's official coder: a narrower edge piece widens the step instead


# -- training path ------------------------------------------------------------------------------
def _standard_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x * (2**-0.5))


def interval_log_mass(
    lower: torch.Tensor, upper: torch.Tensor, scale: torch.Tensor, bound: float = 1e-9
) -> torch.Tensor:
    """log of the N(0, scale) mass of [lower, upper), the mass bounded below by `bound`.

    Intervals above zero are mirrored below it so both CDF values sit in the lower tail, where
    they keep their relative precision (as CompressAI's GaussianConditional does)."""
    above = (lower + upper) > 0
    lo = torch.where(above, -upper, lower) / scale
    hi = torch.where(above, -lower, upper) / scale
    mass = _standard_cdf(hi) - _standard_cdf(lo)
    return torch.log(mass.clamp(min=bound))


# -- coding path (numpy float64) ----------------------------------------------------------------
def grid_point(m: np.ndarray, step: np.ndarray) -> np.ndarray:
    return (m + 0.5) * step


def first_cut(lower: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The smallest m with grid_point(m) > lower (float64 integers)."""
    m = np.floor(lower / step - 0.5) + 1
    # The division rounds; one correction step each way makes the comparison the definition.
    m = np.where(grid_point(m - 1, step) > lower, m - 1, m)
    return np.where(grid_point(m, step) <= lower, m + 1, m)


def last_cut(upper: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The largest m with grid_point(m) < upper."""
    m = np.ceil(upper / step - 0.5) - 1
    m = np.where(grid_point(m + 1, step) < upper, m + 1, m)
    return np.where(grid_point(m, step) >= upper, m - 1, m)


def centred_grid(
    lower: np.ndarray, upper: np.ndarray, step: np.ndarray, max_children: int, min_leftover: float = MIN_LEFTOVER
):
    """(origin, step, first cut m, number of child pieces K) of bounded parents [lower, upper)
    cut by a grid centred on each parent's midpoint: cells of `step` around the midpoint, and at
    each edge the leftover piece; where that piece is under `min_leftover` of a step, the step
    is widened to half / (n + 1/2) so 2n + 1 whole cells fill the parent. A parent narrower than
    one step has a single child (itself). Counts come from the arithmetic, not from comparing
    grid points with the bounds, so a widened grid's outer points, which fall on the bounds,
    never make an empty piece. K is clipped to max_children as in `children`."""
    origin = (lower + upper) / 2
    half = (upper - lower) / 2
    splits = half >= step / 2
    inner = np.floor(np.maximum(half - step / 2, 0.0) / step)
    leftover = np.where(splits, np.mod(np.maximum(half - step / 2, 0.0), step) / step, 1.0)
    widen = splits & (leftover < min_leftover)
    new_step = np.where(widen, half / (inner + 0.5), step)
    first = np.where(widen, -inner, -inner - 1)
    count = np.where(splits, np.where(widen, 2 * inner + 1, 2 * inner + 3), 1)
    return origin, new_step, first, np.clip(count, 1, max_children).astype(np.int64)


def children(lower: np.ndarray, upper: np.ndarray, step: np.ndarray, max_children: int):
    """(first cut m, number of child pieces K) of each parent [lower, upper) cut by `step`.

    K is clipped to [1, max_children]: a valid parent never exceeds it (the encoder checks), and
    the clip keeps a decoder fed a corrupt stream from building unbounded tables."""
    first = first_cut(lower, step)
    count = last_cut(upper, step) - first + 2
    return first, np.clip(count, 1, max_children).astype(np.int64)


def child_index(r: np.ndarray, first: np.ndarray, count: np.ndarray, step: np.ndarray, origin=0.0) -> np.ndarray:
    """Index of the child piece holding r: the number of the parent's cut points <= r."""
    r = r - origin
    m = np.floor(r / step - 0.5)
    m = np.where(grid_point(m + 1, step) <= r, m + 1, m)
    m = np.where(grid_point(m, step) > r, m - 1, m)
    return np.clip(m - first + 1, 0, count - 1).astype(np.int64)


def child_bounds(lower, upper, first, count, index, step, origin=0.0):
    """Bounds of child `index` of each parent: a grid point, or the parent's own bound at the ends."""
    new_lower = np.where(index == 0, lower, origin + grid_point(first + index - 1, step))
    new_upper = np.where(index == count - 1, upper, origin + grid_point(first + index, step))
    return new_lower, new_upper


def _child_boundaries(lower, upper, first, count, step, max_children: int, origin=0.0) -> np.ndarray:
    """(E, max_children + 1) boundaries of the child pieces; rows padded with `upper` (empty pieces)."""
    j = np.arange(max_children + 1)[None, :]
    inner = np.asarray(origin)[..., None] + grid_point(first[:, None] + j - 1, step[:, None])
    bounds = np.where(j >= count[:, None], upper[:, None], inner)
    bounds[:, 0] = lower
    return bounds


def child_pmfs(lower, upper, first, count, step, scale, max_children: int, origin=0.0) -> np.ndarray:
    """(E, max_children) Gaussian probabilities of each child given its parent (rows sum to 1).

    A parent so far in the tail that its children's masses all underflow gets a uniform pmf:
    still decodable, and such elements do not occur in a valid latent."""
    bounds = _child_boundaries(lower, upper, first, count, step, max_children, origin) / scale[:, None]
    above = (lower + upper)[:, None] > 0
    # Mirrored as in interval_log_mass: differences of lower-tail values keep their precision.
    cumulative = np.where(above, -ndtr(-bounds), ndtr(bounds))
    mass = np.diff(cumulative, axis=1)
    valid = np.arange(max_children)[None, :] < count[:, None]
    mass = np.where(valid, np.maximum(mass, 0.0), 0.0)
    total = mass.sum(axis=1, keepdims=True)
    uniform = valid / count[:, None]
    ok = np.isfinite(total) & (total > 1e-300)
    return np.where(ok, mass / np.where(ok, total, 1.0), uniform)


def quantized_cdfs(pmf: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(E, max_children + 2) int32 CDFs for CompressAI's rANS: `count` symbols plus the escape
    symbol rANS reserves at index `count`, 16-bit precision, every symbol at least frequency 1.

    Each symbol gets 1 + floor(p * (2^16 - count - 1)); the rounding remainder goes to the most
    probable symbol. Entries after index count + 1 stay at 2^16 (the row's cdf length is count + 2)."""
    rows, width = pmf.shape
    budget = (CDF_TOTAL - count - 1).astype(np.float64)[:, None]
    valid = np.arange(width)[None, :] < count[:, None]
    freq = np.where(valid, 1 + np.floor(pmf * budget), 0).astype(np.int64)
    remainder = CDF_TOTAL - 1 - freq.sum(axis=1)  # the 1 is the escape symbol's frequency
    freq[np.arange(rows), np.argmax(pmf, axis=1)] += remainder
    freq = np.concatenate([freq, np.zeros((rows, 1), np.int64)], axis=1)
    freq[np.arange(rows), count] = 1
    cdf = np.zeros((rows, width + 2), np.int64)
    np.cumsum(freq, axis=1, out=cdf[:, 1:])
    return cdf.astype(np.int32)


def quantized_child_cdfs(lower, upper, first, count, step, scale, max_children: int, origin=0.0) -> np.ndarray:
    pmf = child_pmfs(lower, upper, first, count, step, scale, max_children, origin)
    return quantized_cdfs(pmf, count)


def distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, index of each row's distinct row): one rANS table per distinct CDF.

    Rows are grouped by a 64-bit hash (np.unique on whole rows sorts them as byte strings, far
    slower); the grouping is then checked row by row and, should two rows ever share a hash,
    every row keeps its own table."""
    if len(rows) == 0:
        return rows, np.zeros(0, np.int64)
    weights = np.random.default_rng(0).integers(1, 2**62, size=rows.shape[1], dtype=np.int64) | 1
    with np.errstate(over="ignore"):
        keys = (rows.astype(np.int64) * weights).sum(axis=1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    distinct = rows[first]
    if not np.array_equal(distinct[inverse], rows):
        return rows, np.arange(len(rows))
    return distinct, inverse.reshape(-1)


def max_children_for(max_ratio: float) -> int:
    """The table cap for a parent of width <= max_ratio * step: it holds at most ceil(max_ratio)
    + 1 children, and two more leave room for the rounding of a ratio at the top of its range
    and of grid points (reaching the cap means inconsistent steps: the encoder refuses)."""
    return int(math.ceil(max_ratio)) + 3
