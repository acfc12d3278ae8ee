"""Image metrics: PSNR, MS-SSIM, bpp from actual bytes (Wu-Palmer: hierarchy/similarity.py).

Images are float tensors in [0, 1], shape (1, 3, H, W), compared at full decoded resolution.

MS-SSIM needs, with its standard 5 scales and an 11-pixel Gaussian window, a shorter side
above (11 - 1) * 2**4 = 160 pixels. Rule for smaller images: use the largest odd window
(11, 9, 7, 5 or 3) that fits, i.e. shorter side > (window - 1) * 16; below 33 pixels MS-SSIM
is undefined and reported as NaN. The window actually used is returned beside the value.
"""

from __future__ import annotations

import math

import torch
from pytorch_msssim import ms_ssim

MS_SSIM_SCALES = 5
MS_SSIM_WINDOWS = (11, 9, 7, 5, 3)


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected (N, 3, H, W) images, got {tuple(x.shape)}")


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB over all pixels and channels, peak 1.0 (inf for identical images)."""
    _check_pair(x, y)
    mse = torch.mean((x.double() - y.double()) ** 2).item()
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def ms_ssim_window(height: int, width: int) -> int | None:
    """The Gaussian window the documented rule uses for an image of this size (None: too small)."""
    short = min(height, width)
    for win in MS_SSIM_WINDOWS:
        if short > (win - 1) * 2 ** (MS_SSIM_SCALES - 1):
            return win
    return None


def ms_ssim_value(x: torch.Tensor, y: torch.Tensor) -> float:
    """MS-SSIM with data range 1.0, window from `ms_ssim_window` (NaN if the image is too small)."""
    _check_pair(x, y)
    win = ms_ssim_window(*x.shape[-2:])
    if win is None:
        return math.nan
    return float(ms_ssim(x.float(), y.float(), data_range=1.0, size_average=True, win_size=win))


def bits_per_pixel(num_bytes: int, height: int, width: int) -> float:
    """Rate from the actual size of what was stored: bytes * 8 / pixels of the original image."""
    if num_bytes < 0 or height <= 0 or width <= 0:
        raise ValueError(f"bad size for bpp: {num_bytes} bytes, {height}x{width} pixels")
    return num_bytes * 8.0 / (height * width)
