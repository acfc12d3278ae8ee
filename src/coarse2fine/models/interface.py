"""The progressive-codec interface every codec of the package implements (registry.py), so
training, coding and evaluation need no special case (docs/models.md, "The codec interface").

A stream is the hyper-latent segment and then segments 1..L; a prefix of n segments decodes
to an image. For c2f the segments are the semantic levels; for the baselines they are rate
points (DeepHQ's quantisation layers, RMPGC's target rates, the hyperprior's one segment).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class ProgressiveCodec(Protocol):
    config: dict  # the build_codec keywords, name included: what a checkpoint records
    codec_name: str
    pad_multiple: int  # images are padded to a multiple of this before coding
    level_blocks: list[int]  # symbols per latent position of each segment
    num_levels: int  # segments after the hyper-latent

    def forward(self, x: torch.Tensor) -> dict:
        """{"x_hat": [one image per prefix 1..L], "likelihoods": {"z": .., "y": [one per segment]}}"""

    def likelihoods(self, x: torch.Tensor) -> dict:
        """The likelihoods of forward without the synthesis: what a rate estimate needs."""

    def compress(self, x: torch.Tensor, pixels: int | None = None) -> dict:
        """{"strings": [z, segment 1..L], "shape": z size, "y_hat": the latent of every segment,
        "y_hat_levels": [the latent decoding the first n segments gives, n = 1..L]}. x is padded
        to pad_multiple; `pixels` is the original image's pixel count, which a rate-controlled
        codec (RMPGC) aims its target bpp at; the others ignore it."""

    def decompress(self, strings: list, shape) -> dict:
        """From the hyper-latent and the first n segments: {"x_hat", "y_hat", "levels": n}."""

    def update(self, scale_table=None, force: bool = False) -> bool:
        """Entropy tables from the current weights (CompressAI's update)."""


@runtime_checkable
class MaskedPrefixCodec(ProgressiveCodec, Protocol):
    """A codec whose prefix of n segments decodes to y_hat with the later segments' channels
    masked out (c2f, the one-segment hyperprior): the prefixes follow from y_hat alone. DeepHQ
    (coarser quantisations) and RMPGC (coded position masks) are not: their prefixes come from
    compress()["y_hat_levels"]."""

    def prefix_latents(self, y_hat: torch.Tensor, levels: int) -> torch.Tensor:
        """y_hat as decoding the first `levels` segments gives it."""
