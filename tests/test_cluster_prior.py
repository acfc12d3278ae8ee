"""Metrics a shift of the predicted-cluster prior cannot fake (evaluate/tables/cluster_prior.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from coarse2fine.evaluate.tables.cluster_prior import (
    balanced_accuracy,
    balanced_from_correct,
    breakdown,
    informative,
    prior_markdown,
    prior_metrics,
    shares,
)


def test_balanced_accuracy_is_sklearns_and_ignores_unlabelled_images():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 6, 300)
    pred = np.where(rng.random(300) < 0.6, truth, rng.integers(0, 6, 300))
    assert balanced_accuracy(truth, pred) == pytest.approx(balanced_accuracy_score(truth, pred))
    with_nan = np.concatenate([truth, [np.nan] * 5]).astype(float)
    assert balanced_accuracy(with_nan, np.concatenate([pred, [0] * 5])) == pytest.approx(
        balanced_accuracy_score(truth, pred)
    )
    assert balanced_from_correct((pred == truth).astype(float), truth) == pytest.approx(
        balanced_accuracy_score(truth, pred)
    )
    assert np.isnan(balanced_accuracy([np.nan], [1]))


def test_predicting_the_majority_cluster_scores_its_share_in_top1_and_chance_balanced():
    truth = np.array([0] * 70 + [1] * 20 + [2] * 10)
    majority = np.zeros(100)
    assert (majority == truth).mean() == pytest.approx(0.7)
    assert balanced_accuracy(truth, majority) == pytest.approx(1 / 3)
    modal, entropy = shares(majority)
    assert modal == 1.0 and entropy == 0.0
    assert shares(truth)[0] == pytest.approx(0.7)
    assert shares([0, 1, 2, 3])[1] == pytest.approx(2.0)
    # an informative prefix: balanced at least twice chance and a modal share near the labels'
    assert not informative(1 / 3, 3, 1.0, 0.7)
    assert informative(0.8, 3, 0.72, 0.7)
    assert not informative(0.8, 3, 1.1, 0.7)


def test_prior_metrics_and_breakdown_per_group_and_source():
    rows = []
    for i in range(40):
        truth = i % 4
        for codec, pred in (("a", truth), ("b", 0)):
            rows.append(
                {
                    "image": f"images/{'gt' if i < 20 else 'other'}/{i}.jpg",
                    "codec": codec,
                    "rate_point": "rp1",
                    "level": 1,
                    "classifier": "judge",
                    "label_source": "ground_truth" if i < 20 else "teacher",
                    "true_L1": truth,
                    "pred_L1": pred,
                    "ref_L1": truth,
                    "correct_L1": float(pred == truth),
                    "true_L2": truth,
                    "pred_L2": pred,
                    "correct_L2": float(pred == truth),
                }
            )
    table = pd.DataFrame(rows)
    table["level"] = table["level"].astype("Int64")
    prior = prior_metrics(table, 2).set_index("codec")
    assert prior.loc["a", "balanced_L1"] == 1.0 and prior.loc["b", "balanced_L1"] == 0.25
    assert prior.loc["b", "modal_share_L1"] == 1.0 and prior.loc["b", "true_modal_share_L1"] == 0.25
    assert prior.loc["a", "balanced_agree_L1"] == 1.0 and prior.loc["a", "clusters_L1"] == 4
    text = prior_markdown(prior.reset_index(), [4, 1000], "judge")
    assert "| b | rp1 | 1 | 25.0 | 25.0 |" in text and text.count("| no |") == 1
    by = breakdown(table, 2, "judge")
    sources = by[(by["codec"] == "a") & (by["split_by"] == "photo_source")]
    assert sorted(sources["value"]) == ["gt", "other"] and (sources["n_images"] == 20).all()
    labels = by[(by["codec"] == "b") & (by["split_by"] == "label_source")].set_index("value")
    assert labels.loc["teacher", "top1_L1"] == pytest.approx(0.25)
