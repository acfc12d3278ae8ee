"""Prob-sum level predictions (the paper's rule) on constructed logits and the paper's hierarchy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coarse2fine.classify.levels import cluster_probabilities, prob_sum_predictions, true_clusters
from coarse2fine.hierarchy.paper import paper_level_maps as load_paper_level_maps


def paper_level_maps() -> list[np.ndarray]:
    """Stand-in hierarchy: the paper's released K=10 and K=100 assignments (packaged CSVs)."""
    return load_paper_level_maps()


def test_prob_sum_can_disagree_with_the_cluster_of_the_top_class():
    level_map = np.zeros(1000, dtype=int)
    level_map[500:] = 1
    probs = torch.full((1, 1000), 0.0)
    probs[0, 0] = 0.30  # the single most probable class is in cluster 0 ...
    probs[0, 500:507] = 0.10  # ... but cluster 1 holds 0.70 in total
    probs[0, 1] = 1 - probs.sum()
    logits = torch.log(probs.clamp_min(1e-12))
    pred = prob_sum_predictions(logits, [level_map])
    assert pred.predicted_class[0] == 0
    assert pred.at_level(1)[0] == 1
    assert pred.cluster_confidence[0][0] == pytest.approx(0.70, abs=1e-6)
    assert pred.at_level(2)[0] == 0  # the finest level is the class


def test_cluster_probabilities_sum_to_one_on_the_paper_hierarchy():
    maps = paper_level_maps()
    logits = torch.randn(4, 1000, generator=torch.Generator().manual_seed(0))
    probs = torch.softmax(logits.double(), 1)
    for level_map, k in zip(maps, (10, 100)):
        clusters = cluster_probabilities(probs, level_map)
        assert clusters.shape == (4, k)
        assert np.allclose(clusters.sum(1), 1.0)
        # the same sums as torch's index_add over the same map
        expected = probs.new_zeros(4, k).index_add_(1, torch.as_tensor(level_map).long(), probs)
        assert np.allclose(clusters, expected.numpy(), rtol=0, atol=1e-15)
    pred = prob_sum_predictions(logits, maps)
    assert pred.num_levels == 3
    # a confident logit on class c puts every level on the clusters of c
    sharp = torch.full((1, 1000), -20.0)
    sharp[0, 281] = 20.0
    sharp_pred = prob_sum_predictions(sharp, maps)
    assert [int(sharp_pred.at_level(lv)[0]) for lv in (1, 2, 3)] == [int(maps[0][281]), int(maps[1][281]), 281]
    assert [int(t[0]) for t in true_clusters([281], maps)] == [int(maps[0][281]), int(maps[1][281])]


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros(999, dtype=int), "one cluster id per class"),
        (np.zeros(1000, dtype=float), "integer cluster ids"),
        (np.full(1000, -1), "negative"),
    ],
)
def test_bad_level_maps_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        prob_sum_predictions(torch.zeros(1, 1000), [bad])


def test_bad_logits_and_levels_are_named():
    with pytest.raises(ValueError, match="logits of shape"):
        prob_sum_predictions(torch.zeros(2, 10), [])
    pred = prob_sum_predictions(torch.zeros(1, 1000), [np.arange(1000) // 100])
    with pytest.raises(ValueError, match="outside 1..2"):
        pred.at_level(3)
