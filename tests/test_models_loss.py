"""The coarse-to-fine loss: rate per prefix, weighted MSE, prob-sum / cross-entropy task terms."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from coarse2fine.models import C2FLoss, build_codec

LAMBDAS, MSE_WEIGHTS, GAMMAS = [1e-4, 1e-3, 1e-2], [0.33, 0.67, 1.0], [0.5, 1.0, 2.0]
LEVEL_MAPS = [np.arange(1000) % 10, np.arange(1000) % 100]


class PooledLinear(nn.Module):
    """A stand-in frozen classifier: global colour statistics -> 1000 logits."""

    input_size = 224

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1000)
        self.seen_sizes = []

    def forward(self, x):
        self.seen_sizes.append(tuple(x.shape[-2:]))
        return self.fc(x.mean(dim=(2, 3))) * 5


@pytest.fixture
def setting():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    codec = build_codec("c2f", backbone="conv", N=16, M=24, level_blocks=[8, 8, 8])
    x = torch.rand(2, 3, 64, 64)
    return codec, x, codec(x), torch.tensor([3, 517])


def test_rate_distortion_terms(setting):
    codec, x, out, _ = setting
    terms = C2FLoss(LAMBDAS, MSE_WEIGHTS, [0, 0, 0], classifier=None, level_maps=LEVEL_MAPS)(out, x)
    num_pixels = 2 * 64 * 64
    z_bpp = torch.log2(out["likelihoods"]["z"]).sum().item() / -num_pixels
    block_bpp = [torch.log2(lik).sum().item() / -num_pixels for lik in out["likelihoods"]["y"]]
    expected = 0.0
    for k in range(3):
        bpp = z_bpp + sum(block_bpp[: k + 1])
        assert terms[f"bpp_{k + 1}"] == pytest.approx(bpp, rel=1e-5)
        mse = torch.nn.functional.mse_loss(out["x_hat"][k], x).item()
        assert terms[f"mse_{k + 1}"] == pytest.approx(mse, rel=1e-5)
        assert terms[f"psnr_{k + 1}"] == pytest.approx(
            -10 * math.log10(torch.nn.functional.mse_loss(out["x_hat"][k].clamp(0, 1), x).item()), rel=1e-4
        )
        assert math.isnan(terms[f"task_{k + 1}"]) and math.isnan(terms[f"acc_{k + 1}"])
        expected += bpp + LAMBDAS[k] * 255**2 * MSE_WEIGHTS[k] * mse
    assert terms["bpp_1"] < terms["bpp_2"] < terms["bpp_3"]
    assert terms["loss"].item() == pytest.approx(expected, rel=1e-5)


def test_task_terms_prob_sum_and_smoothed_cross_entropy(setting):
    codec, x, out, labels = setting
    classifier = PooledLinear()
    loss_fn = C2FLoss(
        LAMBDAS,
        MSE_WEIGHTS,
        GAMMAS,
        classifier=classifier,
        level_maps=LEVEL_MAPS,
        label_smoothing=0.1,
        classifier_size=96,
    )
    terms = loss_fn(out, x, labels)
    assert classifier.seen_sizes == [(96, 96)] * 3
    for k in range(3):
        view = torch.nn.functional.interpolate(
            out["x_hat"][k].clamp(0, 1), size=(96, 96), mode="bilinear", align_corners=False
        )
        probs = classifier(view).softmax(1).detach().numpy().astype(np.float64)
        if k < 2:
            clusters = LEVEL_MAPS[k]
            summed = np.stack([probs[:, clusters == c].sum(1) for c in range(clusters.max() + 1)], 1)
            truth = clusters[labels.numpy()]
            nll = -np.log(summed[np.arange(2), truth]).mean()
            accuracy = (summed.argmax(1) == truth).mean()
        else:
            nll = torch.nn.functional.cross_entropy(torch.log(torch.tensor(probs)), labels, label_smoothing=0.1).item()
            accuracy = (probs.argmax(1) == labels.numpy()).mean()
        assert terms[f"task_{k + 1}"] == pytest.approx(nll, rel=1e-4)
        assert terms[f"acc_{k + 1}"] == pytest.approx(accuracy)
    rd = C2FLoss(LAMBDAS, MSE_WEIGHTS, [0, 0, 0], level_maps=LEVEL_MAPS)(out, x)["loss"].item()
    task = sum(g * terms[f"task_{k + 1}"] for k, g in enumerate(GAMMAS))
    assert terms["loss"].item() == pytest.approx(rd + task, rel=1e-4)


def test_task_gradient_reaches_codec_not_classifier(setting):
    codec, x, out, labels = setting
    classifier = PooledLinear()
    loss_fn = C2FLoss([0, 0, 0], [0, 0, 0], GAMMAS, classifier=classifier, level_maps=LEVEL_MAPS)
    terms = loss_fn(out, x, labels)
    terms["loss"].backward()
    # with zero lambdas only the task terms reach the synthesis transform
    assert codec.g_s[0].weight.grad.abs().sum() > 0
    assert classifier.fc.weight.grad is None and not classifier.training
    loss_fn.train()
    assert not classifier.training


def test_random_level_mode_applies_one_level(setting):
    codec, x, out, labels = setting
    loss_fn = C2FLoss(
        LAMBDAS, MSE_WEIGHTS, GAMMAS, classifier=PooledLinear(), level_maps=LEVEL_MAPS, task_levels="random", seed=3
    )
    chosen = set()
    for _ in range(12):
        terms = loss_fn(out, x, labels)
        present = [k for k in (1, 2, 3) if not math.isnan(terms[f"task_{k}"])]
        assert len(present) == 1
        chosen.add(present[0])
    assert chosen == {1, 2, 3}


def test_unlabelled_images_are_skipped(setting):
    codec, x, out, _ = setting
    loss_fn = C2FLoss(LAMBDAS, MSE_WEIGHTS, GAMMAS, classifier=PooledLinear(), level_maps=LEVEL_MAPS)
    terms = loss_fn(out, x, torch.tensor([3, -1]))
    first_only = loss_fn(
        {"x_hat": [t[:1] for t in out["x_hat"]], "likelihoods": out["likelihoods"]}, x[:1], torch.tensor([3])
    )
    for k in (1, 2, 3):
        assert terms[f"task_{k}"] == pytest.approx(first_only[f"task_{k}"], rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(level_maps=LEVEL_MAPS[:1]), "need 2 coarse level maps"),
        (dict(lambdas=[1e-3, 1e-2]), "one value per level"),
        (dict(classifier=None), "no classifier"),
        (dict(task_levels="some"), "task_levels"),
        (dict(level_maps=[np.arange(10), np.arange(1000)]), "1000 classes"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    settings = dict(
        lambdas=LAMBDAS, mse_weights=MSE_WEIGHTS, task_weights=GAMMAS, classifier=PooledLinear(), level_maps=LEVEL_MAPS
    )
    with pytest.raises(ValueError, match=message):
        C2FLoss(**{**settings, **kwargs})


def test_level_count_mismatch_and_missing_labels(setting):
    codec, x, out, _ = setting
    loss_fn = C2FLoss(LAMBDAS, MSE_WEIGHTS, GAMMAS, classifier=PooledLinear(), level_maps=LEVEL_MAPS)
    with pytest.raises(ValueError, match="needs labels"):
        loss_fn(out, x)
    four = C2FLoss([1e-3] * 4, [1] * 4, [0] * 4, level_maps=LEVEL_MAPS + [np.arange(1000) % 500])
    with pytest.raises(ValueError, match="set up for 4 levels"):
        four(out, x)


def test_with_the_bundled_efficientnet_lite0(setting):
    from coarse2fine.classify import load_classifier

    codec, x, out, labels = setting
    classifier = load_classifier("efficientnet_lite0")
    loss_fn = C2FLoss(
        LAMBDAS,
        MSE_WEIGHTS,
        GAMMAS,
        classifier=classifier,
        level_maps=LEVEL_MAPS,
        classifier_size=classifier.input_size,
    )
    terms = loss_fn(out, x, labels)
    terms["loss"].backward()
    assert all(math.isfinite(terms[f"task_{k}"]) and terms[f"task_{k}"] > 0 for k in (1, 2, 3))
    assert codec.g_s[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in classifier.parameters())


def test_teacher_target_is_the_kl_to_the_classifiers_view_of_the_original(setting):
    """With the teacher target, a reconstruction equal to the original costs nothing, the loss
    needs no label, and it is the KL of the cluster (class) distributions otherwise."""
    codec, x, out, _ = setting
    classifier = PooledLinear()
    loss = C2FLoss(LAMBDAS, MSE_WEIGHTS, GAMMAS, classifier=classifier, level_maps=LEVEL_MAPS, task_target="teacher")
    unlabelled = torch.tensor([-1, -1])
    same = {**out, "x_hat": [x.clone() for _ in out["x_hat"]]}
    terms = loss(same, x, unlabelled)
    for k in (1, 2, 3):
        assert terms[f"task_{k}"] == pytest.approx(0.0, abs=1e-6)
        assert terms[f"acc_{k}"] == 1.0  # agreement with the teacher
    terms = loss(out, x, unlabelled)
    view = loss.view.classifier_input
    with torch.no_grad():
        t = loss.cluster_log_probs(classifier(view(x, 224)), 0)
        q = loss.cluster_log_probs(classifier(view(out["x_hat"][0].clamp(0, 1), 224)), 0)
    expected = (t.exp() * (t - q)).sum(1).mean().item()
    assert terms["task_1"] == pytest.approx(expected, rel=1e-4) and terms["task_1"] > 0


def test_cluster_balance_weights_each_cluster_equally():
    loss = C2FLoss(
        LAMBDAS, MSE_WEIGHTS, GAMMAS, classifier=PooledLinear(), level_maps=LEVEL_MAPS, task_balance="cluster"
    )
    labels = [0, 10, 20, 1, -1]  # clusters at level 1: 0, 0, 0, 1 (and one unlabelled)
    weights = loss.set_balance(labels)
    assert weights[0] == {0: pytest.approx(4 / 6), 1: pytest.approx(4 / 2)}
    # the mean weight over the labelled training photos is 1 at every level
    for level, level_weights in enumerate(weights):
        clusters = [c % (10, 100, 1000)[level] for c in labels if c >= 0]
        assert np.mean([level_weights[c] for c in clusters]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="needs labelled training photos"):
        loss.set_balance([-1, -1])


def test_balanced_task_term_weights_the_rare_cluster_up(setting):
    codec, x, out, labels = setting  # labels 3 and 517: clusters 3 and 7 at level 1
    plain = C2FLoss(LAMBDAS, MSE_WEIGHTS, GAMMAS, classifier=PooledLinear(), level_maps=LEVEL_MAPS)
    torch.manual_seed(0)
    balanced = C2FLoss(
        LAMBDAS, MSE_WEIGHTS, GAMMAS, classifier=plain.classifier, level_maps=LEVEL_MAPS, task_balance="cluster"
    )
    with pytest.raises(RuntimeError, match="set_balance"):
        balanced(out, x, labels)
    balanced.set_balance([3, 3, 3, 517])  # cluster 3 three times, cluster 7 once: weights 2/3 and 2
    log_q = plain.cluster_log_probs(plain.classifier(plain.view.classifier_input(out["x_hat"][0].clamp(0, 1), 224)), 0)
    nll = -log_q[[0, 1], [3, 7]]
    expected = ((2 / 3) * nll[0] + 2 * nll[1]).item() / 2
    assert balanced(out, x, labels)["task_1"] == pytest.approx(expected, rel=1e-4)
