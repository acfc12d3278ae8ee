"""Bjontegaard deltas on curves with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coarse2fine.evaluate.tables.bd import bd_metric, bd_rate

RATES = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
PSNR = np.array([26.0, 28.5, 31.0, 33.2, 35.1])
ACCURACY = np.array([0.20, 0.45, 0.62, 0.71, 0.74])


@pytest.mark.parametrize("factor", [0.5, 0.8, 1.0, 1.25, 3.0])
@pytest.mark.parametrize("metric", [PSNR, ACCURACY])
def test_constant_rate_factor_gives_exactly_that_bd_rate(factor, metric):
    assert bd_rate(RATES, metric, factor * RATES, metric) == pytest.approx((factor - 1) * 100, abs=1e-9)
    # at equal rate the shifted curve is the anchor's own curve shifted along log-rate
    if factor == 1.0:
        assert bd_metric(RATES, metric, RATES, metric) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("delta", [-2.0, 0.5, 1.5])
def test_constant_metric_offset_gives_exactly_that_bd_metric(delta):
    assert bd_metric(RATES, PSNR, RATES, PSNR + delta) == pytest.approx(delta, abs=1e-9)


def test_better_codec_saves_rate_and_order_does_not_matter():
    shuffled = [3, 0, 4, 1, 2]
    saving = bd_rate(RATES, PSNR, RATES[shuffled] * 0.7, PSNR[shuffled])
    assert saving == pytest.approx(-30.0, abs=1e-9)
    assert bd_metric(RATES, ACCURACY, RATES, np.minimum(ACCURACY + 0.05, 1.0)) > 0


def test_two_points_use_a_line_and_no_overlap_is_nan():
    assert bd_rate([0.1, 0.4], [20, 30], [0.2, 0.8], [20, 30]) == pytest.approx(100.0)
    assert math.isnan(bd_rate([0.1, 0.2], [20, 22], [0.3, 0.4], [30, 32]))
    assert math.isnan(bd_metric([0.1, 0.2], [20, 22], [0.4, 0.8], [30, 32]))
    assert math.isnan(bd_rate([0.1], [20], [0.1, 0.2], [20, 22]))


def test_bad_curves_are_named():
    with pytest.raises(ValueError, match="equal length"):
        bd_rate([0.1, 0.2], [1, 2, 3], [0.1, 0.2], [1, 2])
    with pytest.raises(ValueError, match="positive"):
        bd_rate([0.0, 0.2], [1, 2], [0.1, 0.2], [1, 2])
