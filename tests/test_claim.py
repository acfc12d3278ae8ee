"""The paired test of the claim (evaluate/reports/claim.py): McNemar, paired bootstrap, BD-accuracy with
its interval, verdicts, and the agreement column of the tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from coarse2fine.evaluate.reports.claim import (
    ClaimSettings,
    claim_markdown,
    claim_tables,
    informativeness,
    survives,
    verdict,
)
from coarse2fine.evaluate.reports.claim_stats import mcnemar_exact
from coarse2fine.evaluate.tables.predictions import add_agreement


def test_mcnemar_exact_matches_the_binomial_tail():
    a = np.array([1] * 9 + [0] * 1 + [1] * 20)
    b = np.array([0] * 9 + [1] * 1 + [1] * 20)
    p, only_a, only_b = mcnemar_exact(a, b)
    assert (only_a, only_b) == (9, 1)
    # two-sided exact: 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11 / 1024
    assert p == pytest.approx(22 / 1024)
    assert mcnemar_exact(a, a)[0] == 1.0


def planted_table(effect: float, n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Per-image rows of a method and its ablation at 3 rate points and 2 levels, judged by one
    classifier: the method is right with probability base + effect at level 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for rp, (bpp, base) in enumerate([(0.1, 0.3), (0.2, 0.45), (0.4, 0.6)]):
            for level in (1, 2):
                luck = rng.random()
                for codec, p in (("c2f", base + (effect if level == 1 else 0)), ("rd_only", base)):
                    correct = float(luck < p)
                    truth = {1: i % 5, 2: i % 50}
                    pred = {lv: t if correct else (t + 1) % (10 if lv == 1 else 1000) for lv, t in truth.items()}
                    rows.append(
                        {
                            "image": f"img{i}",
                            "classifier": "judge",
                            "codec": codec,
                            "rate_point": f"rp{rp}",
                            "level": level,
                            "bpp_actual": bpp * (1 + 0.01 * rng.standard_normal()),
                            "correct_L1": correct,
                            "correct_L2": correct,
                            "agree_L1": correct,
                            "agree_L2": correct,
                            **{f"true_L{lv}": t for lv, t in truth.items()},
                            **{f"ref_L{lv}": t for lv, t in truth.items()},
                            **{f"pred_L{lv}": v for lv, v in pred.items()},
                        }
                    )
    table = pd.DataFrame(rows)
    table["level"] = table["level"].astype("Int64")
    return table


def test_a_planted_coarse_gain_is_resolved_and_no_effect_is_not():
    settings = ClaimSettings(judge="judge", baselines=(), bootstrap=300)
    paired, bd = claim_tables(planted_table(0.35), [10, 1000], settings)
    coarse = bd[(bd["level"] == 1) & (bd["metric"] == "top-1")].iloc[0]
    assert coarse["bd"] == pytest.approx(35, abs=6) and coarse["bd_lo"] > 0 and coarse["verdict"] == "higher, resolved"
    fine = bd[(bd["level"] == 2) & (bd["metric"] == "top-1")].iloc[0]
    assert fine["bd"] == pytest.approx(0, abs=0.5) and fine["verdict"].startswith("within 2 points")
    rp1 = paired[(paired["level"] == 1) & (paired["metric"] == "top-1") & (paired["rate_point"] == "rp1")].iloc[0]
    assert rp1["diff"] > 0 and rp1["mcnemar_p"] < 0.01 and rp1["only_other"] == 0
    _, null = claim_tables(planted_table(0.0, seed=1), [10, 1000], settings)
    assert null.loc[(null["level"] == 1) & (null["metric"] == "top-1"), "verdict"].iloc[0] == "not resolved"
    info = informativeness(planted_table(0.35), [10, 1000], settings)
    text = claim_markdown(paired, bd, settings, 60, info, [10, 1000])
    assert "higher, resolved" in text and "McNemar" in text
    # the planted gain is real: it holds in balanced accuracy too
    assert "top-1: higher, resolved; balanced accuracy: higher, resolved" in text


def test_the_claim_names_a_missing_judge_or_codec():
    settings = ClaimSettings(judge="other", baselines=())
    with pytest.raises(ValueError, match="the judge 'other' scored no view"):
        claim_tables(planted_table(0.1, n=5), [10, 1000], settings)
    with pytest.raises(ValueError, match="codec 'c2f_x' was not evaluated"):
        claim_tables(planted_table(0.1, n=5), [10, 1000], ClaimSettings(judge="judge", method="c2f_x"))


def test_verdicts():
    assert verdict(1, 3, 0.5, 9.0, 2) == "higher, resolved"
    assert verdict(1, 3, -9.0, -0.5, 2) == "lower, resolved"
    assert verdict(1, 3, -1.0, 3.0, 2) == "not resolved"
    assert verdict(3, 3, -1.5, 3.0, 2) == "within 2 points, resolved"
    assert verdict(3, 3, 1.5, 3.0, 2) == "higher, resolved"
    assert verdict(3, 3, -9.0, -3.0, 2) == "more than 2 points lower, resolved"
    assert verdict(3, 3, math.nan, 1, 2) == "not measured"


def test_agreement_compares_with_the_same_classifiers_uncompressed_prediction():
    table = pd.DataFrame(
        {
            "image": ["a", "a", "a", "b", "b"],
            "classifier": ["x", "x", "y", "x", "x"],
            "codec": ["uncompressed", "jpeg", "uncompressed", "uncompressed", "jpeg"],
            "pred_L1": [3, 3, 7, 5, 4],
            "pred_L2": [30, 31, 70, 50, 50],
        }
    )
    add_agreement(table, 2)
    assert table["agree_L1"].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert table["agree_L2"].tolist() == [1.0, 0.0, 1.0, 1.0, 1.0]


def test_the_claim_over_seeds_averages_the_runs_image_by_image(tmp_path):
    """Two runs of the same recipe: one with a planted coarse gain, one with none. The seed
    average is half the gain, its interval is over images, and each run is listed."""
    from coarse2fine.evaluate.reports.claim import run

    first = planted_table(0.4, seed=0)
    second = planted_table(0.0, seed=1).replace({"codec": {"c2f": "c2f_seed1", "rd_only": "rd_only_seed1"}})
    table = pd.concat([first, second])
    per_image = tmp_path / "per_image.csv"
    table.to_csv(per_image, index=False)
    levels = tmp_path / "levels.json"
    levels.write_text('{"ks": [10, 1000]}')
    settings = ClaimSettings(judge="judge", baselines=(), bootstrap=300, repeats=(("c2f_seed1", "rd_only_seed1"),))
    run(settings, per_image, levels, tmp_path / "claim")
    result = __import__("json").loads((tmp_path / "claim" / "claim.json").read_text())
    rows = {(r["level"], r["metric"], r["rate_point"]): r for r in result["over_seeds"]}
    coarse = rows[(1, "top-1", "rp1")]
    own, repeat = coarse["per_run"]
    assert own > 25 and abs(repeat) < 15 and coarse["runs"] == 2 and coarse["n"] == 60
    assert coarse["diff"] == pytest.approx((own + repeat) / 2)
    assert coarse["diff_lo"] < coarse["diff"] < coarse["diff_hi"]
    # The runs are resampled with the images: a quarter of the resamples draw the repeat twice
    # (a difference of exactly 0 here), a quarter the gaining run twice, so the interval spans
    # the spread between the seeds. Resampling images alone would give about the mean +- 6.
    assert coarse["diff_lo"] <= repeat and coarse["diff_hi"] >= own
    assert "Over training seeds" in (tmp_path / "claim" / "claim.md").read_text()
    # a repeat that was not evaluated is named
    missing = ClaimSettings(judge="judge", baselines=(), repeats=(("c2f_seed9", "rd_only_seed9"),))
    with pytest.raises(ValueError, match="codec 'c2f_seed9' was not evaluated"):
        claim_tables(first, [10, 1000], missing)


def prior_shift_table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Labels skewed to cluster 0 (half the images). The ablation guesses its cluster with no
    information (uniform over 4 clusters); the method sends every uncertain image to cluster 0
    instead: more top-1 against these labels, no more balanced accuracy."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        truth = 0 if i < n // 2 else 1 + i % 3
        for rp, bpp in enumerate((0.1, 0.2, 0.3)):
            guess = int(rng.integers(0, 4))
            for codec, pred in (("c2f", 0), ("rd_only", guess)):
                rows.append(
                    {
                        "image": f"img{i}",
                        "classifier": "judge",
                        "codec": codec,
                        "rate_point": f"rp{rp}",
                        "level": 1,
                        "bpp_actual": bpp,
                        "true_L1": truth,
                        "pred_L1": pred,
                        "ref_L1": truth,
                        "correct_L1": float(pred == truth),
                        "agree_L1": float(pred == truth),
                        **{k: 0.0 for k in ("true_L2", "pred_L2", "ref_L2", "correct_L2", "agree_L2")},
                    }
                )
    table = pd.DataFrame(rows)
    table["level"] = table["level"].astype("Int64")
    return table


def test_a_prior_shift_raises_top1_but_not_balanced_accuracy_and_the_verdict_says_so():
    settings = ClaimSettings(judge="judge", baselines=(), bootstrap=300)
    table = prior_shift_table()
    paired, bd = claim_tables(table, [10, 1000], settings)
    coarse = bd[(bd["level"] == 1) & (bd["against"] == "rd_only")].set_index("metric")
    assert coarse.loc["top-1", "verdict"] == "higher, resolved"  # 50 % against about 25 %
    assert coarse.loc["balanced top-1", "bd_lo"] < 5  # 25 % for both: no balanced gain
    assert coarse.loc["balanced top-1", "verdict"] != "higher, resolved"
    info = informativeness(table, [10, 1000], settings)
    # neither prefix is informative: balanced accuracy at chance, the method's modal share 100 %
    assert not info["informative"].any()
    method = info[info["codec"] == "c2f"].iloc[0]
    assert method["modal_share"] == 100 and method["true_modal_share"] == 50
    text = survives(bd, info, settings, 1)
    assert text.startswith("top-1: higher, resolved; balanced accuracy: ")
    assert "uninformative at 3 of 3 rate points" in text


def test_the_headline_leads_with_the_claims_coarse_verdict_and_keeps_the_rest_in_details(tmp_path):
    from coarse2fine.evaluate.reports.claim import run
    from coarse2fine.evaluate.reports.headline import details, headline

    table = planted_table(0.35)
    per_image = tmp_path / "per_image.csv"
    table.to_csv(per_image, index=False)
    (tmp_path / "levels.json").write_text('{"ks": [10, 1000]}')
    run(ClaimSettings(judge="judge", baselines=(), bootstrap=100), per_image, tmp_path / "levels.json", tmp_path)
    claims = {"c2f": __import__("json").loads((tmp_path / "claim.json").read_text())}
    summary = pd.DataFrame(
        [
            {"codec": "c2f", "rate_point": "rp1", "level": 1, "classifier": "judge", "n_images": 60}
            | {"correct_L1": 0.6, "correct_L2": 0.1, "balanced_L1": 0.5, "modal_share_L1": 0.3}
        ]
    )
    bd = pd.DataFrame(
        [
            {
                "classifier": "judge",
                "anchor": "jpeg",
                "codec": "c2f",
                "metric": "psnr",
                "K": None,
                "bd_rate_percent": -20.0,
            }
        ]
    )
    full = details(summary, bd, [10, 1000], "judge", claims)
    assert full["balanced"]["c2f"]["rp1_K10"] == 0.5 and full["coarse_modal_share"]["c2f"]["rp1_K10"] == 0.3
    short = headline(full, claims, [10, 1000])
    entry = short["claim"]["c2f"]
    assert set(entry) == {"K10_top1", "K10_balanced", "K1000_top1", "coarse_verdict"}
    assert entry["K10_balanced"]["lo"] > 0 and entry["coarse_verdict"].startswith("top-1: higher, resolved")
    assert short["bd_rate_psnr_vs_jpeg"] == {"c2f": -20.0}


def test_plot_tables_give_each_level_the_prefix_that_serves_it_and_every_point_of_other_codecs():
    from coarse2fine.evaluate.reports.headline import plot_tables

    def row(codec, rp, level, bpp):
        return {
            "codec": codec,
            "rate_point": rp,
            "level": level,
            "classifier": "judge",
            "bpp_actual": bpp,
            "psnr": 30.0,
        }

    rows = [row("c2f", rp, level, 0.1 * level + i) for i, rp in enumerate(("rp0", "rp1")) for level in (1, 2, 3)]
    rows += [row("jpeg", q, None, 0.2 + i) for i, q in enumerate(("q10", "q50", "q90"))]
    rows += [row("uncompressed", "-", None, 24.0)]
    summary = pd.DataFrame(rows)
    for k in (1, 2, 3):
        summary[f"correct_L{k}"] = summary["bpp_actual"] / 100 + k
    summary["balanced_L1"] = summary["correct_L1"] - 0.5
    summary["balanced_L2"] = summary["correct_L2"] - 0.5
    tables = plot_tables(summary, "judge", 3)
    assert set(tables) == {f"L{k}/{codec}" for k in (1, 2, 3) for codec in ("c2f", "jpeg")}
    coarse = tables["L1/c2f"]
    assert list(coarse["rate_point"]) == ["rp0", "rp1"] and (coarse["level"] == 1).all()
    assert list(coarse.columns) == ["rate_point", "level", "bpp", "psnr", "top1", "balanced"]
    assert list(coarse["top1"]) == list(summary.query("codec == 'c2f' and level == 1")["correct_L1"])
    assert len(tables["L2/jpeg"]) == 3 and list(tables["L2/jpeg"]["bpp"]) == [0.2, 1.2, 2.2]
    assert "balanced" not in tables["L3/c2f"]  # the class level has no balanced accuracy
    assert list(tables["L3/c2f"]["top1"]) == list(summary.query("codec == 'c2f' and level == 3")["correct_L3"])
