"""Evaluation figures drawn from a summary table (PNG and PDF, one panel per level)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from coarse2fine.evaluate.tables.summary import curve
from coarse2fine.figures.rate_accuracy import top1_vs_bpp, wu_palmer_vs_bpp


def summary_table() -> pd.DataFrame:
    """Two anchors (every point in every panel) and a level-split codec (one prefix per level)."""
    rows = []

    def add(codec, rate_point, level, bpp, acc):
        row = {
            "codec": codec,
            "rate_point": rate_point,
            "level": level,
            "classifier": "efficientnet_lite0",
            "n_images": 8,
            "bpp_actual": bpp,
            "psnr": 30.0,
            "ms_ssim": 0.9,
            "wu_palmer": 0.5 + acc[-1] / 2,
        }
        for lv, a in enumerate(acc, start=1):
            row[f"correct_L{lv}"] = a
        for m in [c for c in row if c.startswith(("correct_", "bpp_", "psnr", "ms_", "wu_"))]:
            row[f"{m}_lo"], row[f"{m}_hi"] = row[m] * 0.9, row[m] * 1.05
        rows.append(row)

    for q, bpp in enumerate([0.2, 0.4, 0.8]):
        add("jpeg", f"q{q}", pd.NA, bpp, [0.5 + 0.1 * q, 0.3 + 0.1 * q, 0.2 + 0.1 * q])
    for rp in range(2):
        for level in (1, 2, 3):
            add(
                "c2f",
                f"rp{rp}",
                level,
                0.05 * level * (rp + 1),
                [0.6 + 0.1 * rp, 0.4 + 0.1 * rp * level, 0.3 + 0.05 * level],
            )
    add("uncompressed", "original", pd.NA, np.nan, [0.9, 0.8, 0.7])
    frame = pd.DataFrame(rows)
    frame["level"] = frame["level"].astype("Int64")
    return frame


def test_curves_take_the_prefix_of_each_level_and_every_anchor_point():
    summary = summary_table()
    assert len(curve(summary, "c2f", "efficientnet_lite0", 2)) == 2
    assert curve(summary, "c2f", "efficientnet_lite0", 2)["level"].eq(2).all()
    assert len(curve(summary, "jpeg", "efficientnet_lite0", 2)) == 3
    assert curve(summary, "uncompressed", "efficientnet_lite0", 1).empty  # no rate: a reference line


def test_figures_are_written_as_png_and_pdf(tmp_path):
    summary = summary_table()
    paths = top1_vs_bpp(summary, [10, 100, 1000], "efficientnet_lite0", tmp_path / "top1")
    paths += wu_palmer_vs_bpp(summary, [10, 100, 1000], "efficientnet_lite0", tmp_path / "wup")
    assert [p.suffix for p in paths] == [".png", ".pdf"] * 2
    assert all(p.stat().st_size > 5000 for p in paths)
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    with Image.open(paths[0]) as im:
        width, height = im.size
        pixels = np.asarray(im.convert("RGB"))
    assert width > 2.5 * height  # three panels in a row
    assert (pixels.std(axis=2) > 30).mean() > 0.001  # coloured lines were drawn, not a blank canvas


def test_unknown_classifier_is_named(tmp_path):
    with pytest.raises(ValueError, match="not in the summary"):
        top1_vs_bpp(summary_table(), [10, 100, 1000], "resnet50", tmp_path / "x")
