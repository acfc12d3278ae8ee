"""DeepHQ's learned step sizes: per layer and channel, strictly decreasing with the layer."""

from __future__ import annotations

import math

import torch
from torch import nn

from .. import nested
from .constants import (
    INITIAL_FIRST_STEP,
    INITIAL_LAST_STEP,
    INITIAL_MIN_RATIO,
    LIKELIHOOD_BOUND,
    MAX_STEP_RATIO,
    MIN_STEP_RATIO_GAP,
)


class HierarchicalStepSizes(nn.Module):
    """Step sizes (layers, channels): the finest step times a product of per-layer ratios in
    [1.01, 16], accumulated in log space, so step_1 > step_2 > ... > step_L > 0 always."""

    def __init__(self, layers: int, channels: int):
        super().__init__()
        # At least 2 between layers: a centred grid cuts a parent into whole cells only, so a
        # smaller ratio leaves the layer nothing to code and no gradient to learn its ratio by
        # (with 8 layers from 4 down to 0.5, every second layer stayed empty).
        ratio = max(INITIAL_MIN_RATIO, (INITIAL_FIRST_STEP / INITIAL_LAST_STEP) ** (1 / (layers - 1)))
        fraction = (ratio - 1 - MIN_STEP_RATIO_GAP) / (MAX_STEP_RATIO - 1 - MIN_STEP_RATIO_GAP)
        self.log_finest_step = nn.Parameter(torch.full((channels,), math.log(INITIAL_LAST_STEP)))
        self.ratio_logits = nn.Parameter(torch.full((layers - 1, channels), math.log(fraction / (1 - fraction))))

    def forward(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        logits, finest = self.ratio_logits.to(dtype), self.log_finest_step.to(dtype)
        ratios = 1 + MIN_STEP_RATIO_GAP + (MAX_STEP_RATIO - 1 - MIN_STEP_RATIO_GAP) * torch.sigmoid(logits)
        # log step_l = log step_L + sum_{j >= l} log ratio_j
        above = torch.flip(torch.cumsum(torch.flip(torch.log(ratios), [0]), 0), [0])
        return torch.exp(torch.cat([finest[None] + above, finest[None]]))


class DequantisationGains(nn.Module):
    """The official code's second learned vector per layer and channel (IQV): layer l
    reconstructs `(round((y - mean) / QV_l) + mean / QV_l) * IQV_l`, i.e. the value its
    quantisation steps give, times IQV_l / QV_l. Kept here as that ratio, in log space and
    started at 0 (IQV = QV: the midpoint), so a gain never changes sign. It acts after the
    entropy coder, on the latent the synthesis reads, so it moves no coding decision."""

    def __init__(self, layers: int, channels: int):
        super().__init__()
        self.log_gains = nn.Parameter(torch.zeros(layers, channels))

    def forward(self, y_hat: torch.Tensor, layer: int) -> torch.Tensor:
        return y_hat * torch.exp(self.log_gains[layer]).to(y_hat.dtype).view(1, -1, 1, 1)


def interval_log_mass_ste(lower, upper, shift, scales):
    """interval_log_mass of [lower, upper) with the straight-through shift of y on both bounds:
    the value is the mass of the interval, the gradient moves y towards the mode."""
    return nested.interval_log_mass(lower + shift, upper + shift, scales, LIKELIHOOD_BOUND)
