"""Evaluation figures drawn from a summary table (PNG and PDF, one panel per level)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from coarse2fine.evaluate.tables.summary import curve
from coarse2fine.figures.confusion import coarse_confusion, present_confusion
from coarse2fine.figures.paired_difference import claim_figure, no_claim, paired_difference, read_claim
from coarse2fine.figures.rate_accuracy import (
    balanced_vs_bpp,
    family_curve,
    quality_vs_bpp,
    top1_vs_bpp,
    wu_palmer_vs_bpp,
)
from coarse2fine.figures.reconstructions import equal_rate_grid, equal_rate_rows
from coarse2fine.figures.styles import codec_styles, families, legend_outside, seed_family


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
            row[f"balanced_L{lv}"] = a - 0.1
            row[f"clusters_L{lv}"] = 7
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
    for seed in (1, 2):  # repeats of c2f's middle rate point with other training seeds
        for level in (1, 2, 3):
            add(f"c2f_seed{seed}", "rp1", level, 0.1 * level, [0.6 + 0.05 * seed, 0.5, 0.4])
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


def test_seeds_of_one_recipe_are_one_line_their_mean_and_range():
    summary = summary_table()
    assert seed_family("c2f_seed12") == "c2f" and seed_family("c2f_paper") == "c2f_paper"
    groups = families(summary.loc[summary["codec"] != "uncompressed", "codec"])
    assert groups == {"c2f": ["c2f", "c2f_seed1", "c2f_seed2"], "jpeg": ["jpeg"]}
    points = family_curve(summary, groups["c2f"], "efficientnet_lite0", 1, "correct_L1").set_index("seeds")
    shared = points.loc[3]  # rp1: seed 42 at 0.7, the repeats at 0.65 and 0.7
    assert shared["correct_L1"] == pytest.approx((0.7 + 0.65 + 0.7) / 3)
    assert (shared["band_lo"], shared["band_hi"]) == pytest.approx((0.65, 0.7))
    alone = points.loc[1]  # rp0, seed 42 only: its own bootstrap interval
    assert (alone["band_lo"], alone["band_hi"]) == pytest.approx((0.6 * 0.9, 0.6 * 1.05))
    assert family_curve(summary, ["jpeg"], "efficientnet_lite0", 1, "correct_L1")["seeds"].eq(1).all()


def test_every_codec_has_its_own_colour_and_line_style_beyond_the_palette():
    names = [f"codec{i}" for i in range(25)]
    styles = codec_styles(names)
    pairs = {(tuple(s["color"]), s["linestyle"]) for s in styles.values()}
    assert len(pairs) == len(names)
    neighbours = zip(names, names[1:])
    assert all(
        styles[a]["color"] != styles[b]["color"] and styles[a]["linestyle"] != styles[b]["linestyle"]
        for a, b in neighbours
    )


def test_the_legend_is_the_figure_s_not_a_panel_s():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    axes[0].plot([0, 1], [0, 1], label="c2f")
    axes[1].plot([0, 1], [1, 0], label="c2f")
    axes[1].plot([0, 1], [1, 1], label="jpeg")
    axes[1].legend()
    legend_outside(fig, axes)
    assert all(ax.get_legend() is None for ax in axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["c2f", "jpeg"]
    plt.close(fig)


def test_balanced_accuracy_and_quality_figures_are_written(tmp_path):
    summary = summary_table()
    paths = balanced_vs_bpp(summary, [10, 100, 1000], "efficientnet_lite0", tmp_path / "balanced")
    paths += quality_vs_bpp(summary, [10, 100, 1000], "efficientnet_lite0", tmp_path / "quality")
    assert [p.suffix for p in paths] == [".png", ".pdf"] * 2
    with Image.open(paths[0]) as balanced, Image.open(paths[2]) as quality:
        assert balanced.width > 2.5 * balanced.height  # three panels in a row, the legend beside
        assert quality.height > 1.5 * balanced.height  # PSNR above MS-SSIM


def test_a_summary_without_balanced_accuracy_still_draws(tmp_path):
    summary = summary_table().drop(columns=[c for c in summary_table() if c.startswith("balanced_")])
    assert balanced_vs_bpp(summary, [10, 100, 1000], "efficientnet_lite0", tmp_path / "b")[0].exists()


def per_image_table() -> pd.DataFrame:
    """Six photos in true clusters 0, 0, 0, 2, 2, 5 of K=10: the uncompressed view right on
    every photo, c2f's coarse prefix sending all but one to cluster 0."""
    truth = [0, 0, 0, 2, 2, 5]
    rows = []
    for codec, level, predicted in (("uncompressed", pd.NA, truth), ("c2f", 1, [0, 0, 0, 0, 2, 0])):
        for image, (t, p) in enumerate(zip(truth, predicted)):
            rows.append(
                {
                    "codec": codec,
                    "rate_point": "original" if codec == "uncompressed" else "rp1",
                    "level": level,
                    "classifier": "efficientnet_lite0",
                    "image": f"img{image}",
                    "bpp_actual": np.nan if codec == "uncompressed" else 0.1,
                    "true_L1": t,
                    "pred_L1": p,
                }
            )
    frame = pd.DataFrame(rows)
    frame["level"] = frame["level"].astype("Int64")
    return frame


def test_confusion_shows_counts_of_the_clusters_present_only(tmp_path):
    table = per_image_table()
    c2f = table[table["codec"] == "c2f"]
    counts = present_confusion(c2f["true_L1"], c2f["pred_L1"])
    assert list(counts.index) == [0, 2, 5] and list(counts.columns) == [0, 2]  # no empty row or column
    assert counts.loc[0, 0] == 3 and counts.loc[2].tolist() == [1, 1] and counts.loc[5, 0] == 1
    png, pdf = coarse_confusion(table, 10, "efficientnet_lite0", ["c2f"], tmp_path / "confusion")
    assert png.stat().st_size > 5000 and pdf.read_bytes()[:5] == b"%PDF-"


def saved_views(tmp_path) -> pd.DataFrame:
    """Two photos with saved reconstructions: c2f split by level at two rate points, rd_only at
    one, JPEG at three qualities; rates that differ from photo to photo."""
    rows = []

    def add(codec, rate_point, level, image, bpp):
        recon = f"img{image}/{codec}_{rate_point}{'' if pd.isna(level) else level}.png"
        (tmp_path / "recon" / recon).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((16, 16, 3), 40 * image, np.uint8)).save(tmp_path / "recon" / recon)
        row = {"codec": codec, "rate_point": rate_point, "level": level, "classifier": "efficientnet_lite0"}
        row |= {"image": f"img{image}", "bpp_actual": bpp, "psnr": 30.0, "recon_file": recon}
        row |= {"views_dir": str(tmp_path), "predicted_label": "tabby", "correct_L1": 1, "correct_L2": 0}
        rows.append(row)

    for image in (1, 2):
        add("uncompressed", "original", pd.NA, image, np.nan)
        for rp, bpp in (("rp0", 0.2), ("rp1", 0.4)):
            for level in (1, 2):
                add("c2f", rp, level, image, bpp * level * image)
        add("rd_only", "rp1", 2, image, 0.8 * image)
        for q, bpp in (("q10", 0.1), ("q50", 0.7), ("q90", 2.0)):
            add("jpeg", q, pd.NA, image, bpp * image)
    frame = pd.DataFrame(rows)
    frame["level"] = frame["level"].astype("Int64")
    return frame


def test_reconstructions_at_equal_rate_take_each_codec_s_nearest_complete_view(tmp_path):
    table = saved_views(tmp_path)
    rows = equal_rate_rows(table, ["c2f", "rd_only", "jpeg"], num_levels=2)
    assert [image for image, _ in rows] == ["img1", "img2"]
    for image, (reference, method, rd_only, jpeg) in rows:
        assert reference["codec"] == "uncompressed"
        # c2f's complete stream (level 2) at its middle rate point, rp1: 0.8 bpp x the photo's factor
        assert (method["rate_point"], method["level"]) == ("rp1", 2)
        assert rd_only["bpp_actual"] == pytest.approx(method["bpp_actual"])
        assert jpeg["rate_point"] == "q50"  # 0.7 is nearest 0.8 (and 1.4 nearest 1.6)
    compared = ["c2f", "rd_only", "deephq", "jpeg"]
    png, _ = equal_rate_grid(table, [10, 100], "efficientnet_lite0", compared, tmp_path / "e")
    with Image.open(png) as im:
        assert im.width > im.height  # four columns (deephq was not evaluated), two photos


def test_the_paired_difference_reads_every_seed_s_run_and_their_average_from_the_claim(tmp_path):
    """The claim writes every run pair's differences and their seed average as CSV (the claim's
    own numbers unchanged by the repeats), and the figure draws them."""
    from coarse2fine.evaluate.reports.claim import ClaimSettings, run
    from test_claim import planted_table

    first = planted_table(0.4, n=30, seed=0)
    second = planted_table(0.0, n=30, seed=1).replace({"codec": {"c2f": "c2f_seed1", "rd_only": "rd_only_seed1"}})
    per_image = tmp_path / "per_image.csv"
    pd.concat([first, second]).to_csv(per_image, index=False)
    levels = tmp_path / "levels.json"
    levels.write_text('{"ks": [10, 1000]}')
    repeats = (("c2f_seed1", "rd_only_seed1"),)
    run(ClaimSettings(judge="judge", baselines=(), bootstrap=100, repeats=repeats), per_image, levels, tmp_path / "s")
    run(ClaimSettings(judge="judge", baselines=(), bootstrap=100), per_image, levels, tmp_path / "one")
    assert (tmp_path / "s" / "claim_paired.csv").read_text() == (tmp_path / "one" / "claim_paired.csv").read_text()
    runs, pooled = read_claim(tmp_path / "s")
    assert set(zip(runs["method"], runs["ablation"])) == {("c2f", "rd_only"), ("c2f_seed1", "rd_only_seed1")}
    own = runs[runs["method"] == "c2f"].drop(columns=["method", "ablation"]).reset_index(drop=True)
    paired = pd.read_csv(tmp_path / "s" / "claim_paired.csv", dtype={"rate_point": str})
    pd.testing.assert_frame_equal(own, paired)
    assert (pooled["runs"] == 2).all() and "mean" not in set(pooled["rate_point"])
    assert read_claim(tmp_path / "one")[1].empty  # no repeats: the seed average's header only
    png, pdf = paired_difference(runs, pooled, tmp_path / "paired")
    with Image.open(png) as im:
        assert im.width > im.height  # two levels side by side, the legend beside
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert no_claim(tmp_path / "none")[0].exists() and claim_figure(None, tmp_path / "n")[0].exists()
