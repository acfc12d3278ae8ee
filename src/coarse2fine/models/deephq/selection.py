"""DeepHQ's selective compression: which latent elements each layer codes (nested masks)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .constants import SELECT_ALL_SCORE


class ImportanceSelector(nn.Module):
    """Selective compression: an importance score per latent element from the hyper features
    (the 2M channels of h_s) and thresholds t_1 >= ... >= t_L. Initialised to code everything
    (the last layer's weights are zero, its bias above every threshold), so a codec
    initialised from phase 2 starts where phase 2 ended."""

    def __init__(self, layers: int, channels: int):
        super().__init__()
        self.score = nn.Sequential(
            nn.Conv2d(2 * channels, channels, 1), nn.LeakyReLU(inplace=True), nn.Conv2d(channels, channels, 1)
        )
        nn.init.zeros_(self.score[2].weight)
        nn.init.constant_(self.score[2].bias, SELECT_ALL_SCORE)
        self.first_threshold = nn.Parameter(torch.tensor(0.0))
        self.threshold_gaps = nn.Parameter(torch.zeros(layers - 1))

    def thresholds(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        gaps = torch.cumsum(F.softplus(self.threshold_gaps.to(dtype)), 0)
        first = self.first_threshold.to(dtype)
        return torch.cat([first[None], first - gaps])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.score(features)


class ExponentSelector(nn.Module):
    """Selective compression as DeepHQ's official code learns it: an importance map in (0, 1) per
    latent element from the hyper features, and a learned exponent per layer and channel; layer
    l codes an element where importance ** exponent[l, c] rounds to 1 (> 1/2), and once coded
    an element stays coded. In training the mask is a Bernoulli draw with a straight-through
    gradient. Initialised to code everything (importance sigmoid(5), exponents 1)."""

    def __init__(self, layers: int, channels: int):
        super().__init__()
        self.importance_net = nn.Sequential(
            nn.Conv2d(2 * channels, channels, 1), nn.LeakyReLU(inplace=True), nn.Conv2d(channels, channels, 1)
        )
        nn.init.zeros_(self.importance_net[2].weight)
        nn.init.zeros_(self.importance_net[2].bias)
        self.exponent = nn.Parameter(torch.ones(layers, channels))

    def importance(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.clamp(self.importance_net(features) + 5.0, -20.0, 20.0))

    def probabilities(self, features: torch.Tensor) -> list[torch.Tensor]:
        """Per layer, the probability each element is coded (before the nesting)."""
        log_importance = torch.log(self.importance(features))
        exponent = self.exponent.to(features.dtype).clamp(min=0.0)
        return [torch.exp(exponent[layer].view(1, -1, 1, 1) * log_importance) for layer in range(len(exponent))]
