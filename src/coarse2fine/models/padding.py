"""Pad images to the backbone's multiple before coding and crop reconstructions back.

A codec with a hyperprior needs H and W divisible by 2^(analysis downsamplings + hyper
downsamplings) (64 for conv and TIC); otherwise the hyperprior's output does not line up with
the latent. Replicate padding keeps the border cheap to code (no hard edge to a black band).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def padded_size(height: int, width: int, multiple: int) -> tuple[int, int]:
    """The smallest (H, W) >= (height, width) that are multiples of `multiple`."""
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if multiple < 1:
        raise ValueError(f"pad multiple must be positive, got {multiple}")
    return -(-height // multiple) * multiple, -(-width // multiple) * multiple


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad (N, C, H, W) on the bottom/right to multiples of `multiple`.

    Returns the padded tensor and the original (H, W), which `crop_to_size` needs.
    """
    if x.dim() != 4:
        raise ValueError(f"expected an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    height, width = x.shape[-2:]
    ph, pw = padded_size(height, width, multiple)
    if (ph, pw) == (height, width):
        return x, (height, width)
    return F.pad(x, (0, pw - width, 0, ph - height), mode="replicate"), (height, width)


def crop_to_size(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo `pad_to_multiple`: keep the top-left (H, W)."""
    height, width = size
    if x.shape[-2] < height or x.shape[-1] < width:
        raise ValueError(f"cannot crop {tuple(x.shape[-2:])} to the larger size {height}x{width}")
    return x[..., :height, :width]
