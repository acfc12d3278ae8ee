"""The BD-rate-against-steps curve of a training job (evaluate/reports/rd_curve.py)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from coarse2fine.evaluate.reports.rd_curve import anchor_curve, prefix_points
from coarse2fine.models import build_codec


def test_prefix_points_rise_in_rate_per_prefix(one_torch_thread):
    torch.manual_seed(0)
    codec = build_codec("c2f", N=16, M=24, level_blocks=[8, 8, 8]).eval()
    with torch.no_grad():
        codec.g_a[-1].weight.mul_(20)  # latents that cost bits
    x = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 64, 64), 5, 1, 2)
    points = prefix_points(codec, x)
    assert len(points) == 3
    rates = [bpp for bpp, _ in points]
    assert all(b > a > 0 for a, b in zip(rates, rates[1:])), rates
    assert all(0 < psnr < 100 for _, psnr in points)


def test_the_anchor_curve_covers_the_same_photos_or_names_the_missing(tmp_path):
    views = tmp_path / "views.csv"
    pd.DataFrame(
        {
            "image": ["a.jpg", "a.jpg", "b.jpg", "b.jpg"],
            "rate_point": ["q05", "q10", "q05", "q10"],
            "bpp_actual": [0.2, 0.4, 0.4, 0.6],
            "psnr": [24.0, 27.0, 26.0, 29.0],
        }
    ).to_csv(views, index=False)
    curve = anchor_curve(views, ["a.jpg", "b.jpg"])
    assert curve.loc["q05", "bpp"] == pytest.approx(0.3) and curve.loc["q10", "psnr"] == pytest.approx(28.0)
    with pytest.raises(ValueError, match="1 of the photos were not coded by the anchor.*c.jpg"):
        anchor_curve(views, ["a.jpg", "c.jpg"])
