"""RMPGC's two independent entropy models (`entropy_models: separate`): "two independent Gaussian
entropy models were adopted to estimate the entropy of the latent vectors of the base layers and
enhance layers" (the RMPGC paper, section V-H).

The base channels (the first C_b of y) and the enhancement channels (the other M - C_b) each get
their own mean-scale hyperprior: a hyper-analysis of their channels alone, a hyper-latent of
their own, and a hyper-synthesis that gives their Gaussian means and scales. Nothing of one
reaches the other's entropy model. The two hyper-latents are the channels of one z (the base's
first), which the codec's factorized prior codes channel by channel, so each part of z keeps its
own prior and the stream keeps its layout: one hyper-latent string, then the segments.

`SplitHyperAnalysis` and `SplitHyperSynthesis` stand in for the codec's `h_a` and `h_s`: the
synthesis returns the 2M channels in the order the codec reads them (the M means, then the M
scales, base channels first in each), so the training path, the float64 coding path and the
Gaussian tables need no change. Both halves use the conv backbone's hyper transforms
(backbones.conv_hyper_transforms) at their own widths.
"""

from __future__ import annotations

import torch
from torch import nn

from ..backbones import conv_hyper_transforms


def split_widths(N: int, M: int, base_channels: int) -> tuple[int, int]:
    """Hyper-latent channels of the base and of the enhancement: N shared in proportion to their
    latent channels, at least one each (16 / 48 for N = 64, M = 96, C_b = 24; 96 / 96 for the
    paper's 96 + 96 channels at N = 192)."""
    if N < 2:
        raise ValueError(f"two entropy models need N >= 2 hyper-latent channels, got {N}")
    base = min(max(round(N * base_channels / M), 1), N - 1)
    return base, N - base


class SplitHyperAnalysis(nn.Module):
    """y (M channels) -> z: the base channels' hyper-latent, then the enhancement's."""

    def __init__(self, base: nn.Module, enhancement: nn.Module, base_channels: int):
        super().__init__()
        self.base, self.enhancement = base, enhancement
        self.base_channels = int(base_channels)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        cb = self.base_channels
        return torch.cat([self.base(y[:, :cb]), self.enhancement(y[:, cb:])], dim=1)


class SplitHyperSynthesis(nn.Module):
    """z -> the 2M entropy parameters of y: means (base, enhancement), then scales (base,
    enhancement), each half from its own part of z."""

    def __init__(self, base: nn.Module, enhancement: nn.Module, base_latent_channels: int):
        super().__init__()
        self.base, self.enhancement = base, enhancement
        self.base_latent_channels = int(base_latent_channels)

    def forward(self, z_hat: torch.Tensor) -> torch.Tensor:
        nb = self.base_latent_channels
        base_means, base_scales = self.base(z_hat[:, :nb]).chunk(2, dim=1)
        enhancement_means, enhancement_scales = self.enhancement(z_hat[:, nb:]).chunk(2, dim=1)
        return torch.cat([base_means, enhancement_means, base_scales, enhancement_scales], dim=1)


def separate_hyper_transforms(N: int, M: int, base_channels: int) -> tuple[nn.Module, nn.Module]:
    """(h_a, h_s) of two independent mean-scale hyperpriors, one for the first `base_channels`
    channels of y and one for the rest, whose hyper-latents together have N channels."""
    if not 0 < base_channels < M:
        raise ValueError(f"two entropy models need a base layer: 0 < base_channels < M ({M}), got {base_channels}")
    nb, ne = split_widths(N, M, base_channels)
    base_a, base_s = conv_hyper_transforms(nb, base_channels)
    enhancement_a, enhancement_s = conv_hyper_transforms(ne, M - base_channels)
    return (SplitHyperAnalysis(base_a, enhancement_a, base_channels), SplitHyperSynthesis(base_s, enhancement_s, nb))
