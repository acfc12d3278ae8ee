"""PSNR, MS-SSIM (with the small-image rule), bpp and Wu-Palmer on inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from coarse2fine.evaluate.views.image_metrics import bits_per_pixel, ms_ssim_value, ms_ssim_window, psnr
from coarse2fine.hierarchy.similarity import wu_palmer


def test_psnr_of_a_constant_error():
    x = torch.full((1, 3, 8, 8), 0.5, dtype=torch.float64)
    assert psnr(x, x + 0.1) == pytest.approx(20.0, abs=1e-9)  # mse 0.01 at peak 1
    assert psnr(x, x) == math.inf
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(x, x[..., :4])


@pytest.mark.parametrize(
    "side, window", [(224, 11), (161, 11), (160, 9), (100, 7), (70, 5), (40, 3), (33, 3), (32, None)]
)
def test_ms_ssim_window_rule(side, window):
    assert ms_ssim_window(side, 500) == window


def test_ms_ssim_values():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 200, 180, generator=g)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert ms_ssim_value(x, x) == pytest.approx(1.0, abs=1e-6)
    assert 0 < ms_ssim_value(x, noisy) < 0.99
    small = x[..., :100, :100]
    assert 0 < ms_ssim_value(small, noisy[..., :100, :100]) < 1  # runs with the 7-pixel window
    assert math.isnan(ms_ssim_value(x[..., :30, :30], noisy[..., :30, :30]))


def test_bits_per_pixel():
    assert bits_per_pixel(1000, 100, 80) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="bad size"):
        bits_per_pixel(10, 0, 5)


def test_wu_palmer_between_classes():
    # 1 = goldfish, 0 = tench (two fishes), 817 = sports car
    sims = wu_palmer([1, 0, 817, 5], [1, 1, 1, -1])
    assert sims[0] == 1.0
    assert 0.5 < sims[1] < 1.0
    assert sims[2] < sims[1]
    assert np.isnan(sims[3])
