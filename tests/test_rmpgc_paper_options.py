"""RMPGC's options for the settings its paper states (docs/rmpgc.md, "Against the paper"): every
loss term over its own running mean (section V-A), lambda_SFM at the paper's values, and two
independent entropy models for the base and the enhancement latents (section V-H). Each is off by
default, and the default path is the one it was."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coarse2fine.architectures import validate_architecture
from coarse2fine.coding.codec_io import compress_image, decode_bitstream
from coarse2fine.coding.identity import compute_model_identity
from coarse2fine.errors import ArchitectureError
from coarse2fine.models import build_codec
from coarse2fine.models.loss import C2FLoss, RunningMeanNormaliser
from coarse2fine.models.rmpgc.hyper import SplitHyperSynthesis, split_widths
from coarse2fine.plan import load_study_config
from conftest import REPO

SMALL = {"N": 16, "M": 24, "target_bpp": [0.1, 0.2, 0.35, 0.6], "classifier_size": 64}
PAPER = {"base_channels": 8, "train_conditions": "paper", "conditioned_decoder": True}
LAMBDAS = [5e-4, 5e-4, 7e-3]


def codec(**kwargs):
    torch.manual_seed(0)
    return build_codec("rmpgc", **{**SMALL, **PAPER, **kwargs}).train()


def loss_fn(lambdas=LAMBDAS):
    return C2FLoss(lambdas, [1] * 3, [0] * 3, level_maps=[np.zeros(1000, dtype=int)] * 2)


def images(seed: int = 1, size: int = 64):
    return torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(seed))


def one_step(model, x, lambdas=LAMBDAS):
    """One Adam step; (loss terms, the weights after the step)."""
    optimizer = torch.optim.Adam([p for n, p in model.named_parameters() if not n.endswith("quantiles")], lr=1e-3)
    terms = loss_fn(lambdas)(model(x), x)
    terms["loss"].backward()
    optimizer.step()
    return terms, {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_the_default_path_is_the_one_it_was(one_torch_thread):
    """Defaults spelt out build the same model (config, identity, state) and train it to the same
    bits; the output carries no normaliser and the loss is the plain sum it always was."""
    default, explicit = codec(), codec(loss_normalisation="none", entropy_models="shared", feature_weight=0.05)
    assert default.config == explicit.config
    assert "loss_normalisation" not in default.config and "entropy_models" not in default.config
    assert default.loss_normaliser is None and not any(k.startswith("loss_normaliser") for k in default.state_dict())
    default.update(force=True)
    explicit.update(force=True)
    assert compute_model_identity(default) == compute_model_identity(explicit)
    x = images()
    torch.manual_seed(2)
    out = default(x)
    assert "normalise" not in out
    terms = loss_fn()(out, x)
    rate, total = out["likelihoods"]["z"].log2().sum().neg() / (2 * 64 * 64), x.new_zeros(())
    for k, lam in enumerate(LAMBDAS):
        rate = rate + out["likelihoods"]["y"][k].log().sum() / -np.log(2) / (2 * 64 * 64)
        total = total + rate + lam * 255**2 * torch.nn.functional.mse_loss(out["x_hat"][k], x)
    total = total + out["penalties"]["feature_match"]
    assert terms["loss"].item() == pytest.approx(total.item(), rel=1e-6)
    default, explicit = codec(), codec(loss_normalisation="none", entropy_models="shared")
    torch.manual_seed(2)
    first, after_first = one_step(default, x)
    torch.manual_seed(2)
    second, after_second = one_step(explicit, x)
    assert torch.equal(first["loss"], second["loss"])
    assert after_first.keys() == after_second.keys()
    assert all(torch.equal(after_first[k], after_second[k]) for k in after_first)


def test_a_running_mean_divides_each_term_by_the_mean_of_its_history():
    normaliser = RunningMeanNormaliser(["a", "b"]).train()
    generator = torch.Generator().manual_seed(0)
    history, normalised = [], []
    for step in range(200):
        value = 50.0 + 10.0 * torch.randn((), generator=generator)  # a term of scale 50
        out = normaliser("a", value)
        history.append(value.item())
        normalised.append(out.item())
        if step == 0:
            assert out.item() == pytest.approx(1.0)  # the first step is its own history
    assert normaliser.running_means()["a"] == pytest.approx(np.mean(history))
    assert np.mean(normalised[20:]) == pytest.approx(1.0, abs=0.05)  # near 1 whatever the term's scale
    assert normaliser.counts.tolist() == [200.0, 0.0]
    normaliser.eval()  # eval reads the history, does not add to it
    assert normaliser("a", torch.tensor(100.0)).item() == pytest.approx(100.0 / np.mean(history))
    assert normaliser.counts[0].item() == 200.0
    weight = torch.tensor(3.0, requires_grad=True)
    normaliser.train()("b", weight * 2).backward()  # the mean is a constant for the gradient
    assert weight.grad.item() == pytest.approx(1 / 3)
    with pytest.raises(KeyError, match="no running mean"):
        normaliser("c", torch.tensor(1.0))


def test_normalised_rmpgc_terms_enter_the_loss_at_scale_one(one_torch_thread):
    """loss_normalisation: running_mean: after a few steps every rate, MSE and feature-matching
    term enters near 1, so the loss is about the sum of the weights; the history is state."""
    model = codec(loss_normalisation="running_mean", feature_weight=10.0)
    assert model.config["loss_normalisation"] == "running_mean"
    names = ["bpp_1", "bpp_2", "bpp_3", "mse_1", "mse_2", "mse_3", "feature_match"]
    assert model.loss_normaliser.names == names
    optimizer = torch.optim.Adam([p for n, p in model.named_parameters() if not n.endswith("quantiles")], lr=1e-4)
    raw = {name: [] for name in names}
    x = images(size=64)
    for step in range(4):
        optimizer.zero_grad()
        out = model(x)
        assert out["normalise"] is model.loss_normaliser
        terms = loss_fn()(out, x)
        terms["loss"].backward()
        optimizer.step()
        for name in names[:-1]:
            raw[name].append(terms[name])
    means = model.loss_normaliser.running_means()
    for name in names[:-1]:
        assert means[name] == pytest.approx(np.mean(raw[name]), rel=1e-5)
        assert terms[name] / means[name] == pytest.approx(1.0, abs=0.1)
    assert terms["feature_match"] == pytest.approx(10.0, rel=0.1)  # lambda_SFM x ~1
    expected = 3 + sum(lam * 255**2 for lam in LAMBDAS) + 10.0
    assert terms["loss"].item() == pytest.approx(expected, rel=0.05)
    assert model.loss_normaliser.counts.tolist() == [4.0] * len(names)
    rebuilt = build_codec(**model.config)
    rebuilt.load_state_dict(model.state_dict())  # a resumed job goes on with the same history
    assert rebuilt.loss_normaliser.running_means() == means


def test_feature_weight_is_lambda_sfm_at_any_of_the_papers_values(one_torch_thread):
    x = images()
    penalties = {}
    for weight in (0.05, 1.0, 10.0):
        model = codec(feature_weight=weight)
        validate_architecture({**model.config})
        model(x)  # the classifier loads on first use (once per process: it may draw random numbers)
        torch.manual_seed(1)  # the same masks and noise for every weight
        penalties[weight] = model(x)["penalties"]["feature_match"].item()
    # to the precision of the penalty's tensor (it may come out of the classifier in bfloat16:
    # 8 significant bits, so a relative 1e-2, far below the factors 20 and 200 being checked)
    assert penalties[0.05] > 0
    assert penalties[1.0] == pytest.approx(20 * penalties[0.05], rel=1e-2)
    assert penalties[10.0] == pytest.approx(200 * penalties[0.05], rel=1e-2)


def informative(model):
    """Random weights whose latent costs something: analysis output scaled, scales widened."""
    with torch.no_grad():
        model.g_a[-1].weight.mul_(40)
        model.g_a[-1].bias.mul_(40)
        for half in (model.h_s.base, model.h_s.enhancement):
            channels = half[-1].out_channels // 2
            half[-1].bias[channels:].add_(0.7)
    model.update(force=True)
    return model.eval()


def test_separate_entropy_models_keep_base_and_enhancement_apart(one_torch_thread):
    model = codec(entropy_models="separate")
    assert model.config["entropy_models"] == "separate" and isinstance(model.h_s, SplitHyperSynthesis)
    assert split_widths(16, 24, 8) == (5, 11) and split_widths(64, 96, 24) == (16, 48)
    assert split_widths(192, 192, 96) == (96, 96)  # the paper's 96 + 96 channels
    y = torch.randn(1, 24, 8, 8)
    z = model.h_a(y)
    assert z.shape == (1, 16, 2, 2)
    means, scales = model.hyper_parameters(z)
    assert means.shape == scales.shape == y.shape
    # the base's entropy parameters do not see the enhancement channels, nor the reverse
    other = y.clone()
    other[:, 8:] = torch.randn(1, 16, 8, 8)
    other_means, other_scales = model.hyper_parameters(model.h_a(other))
    assert torch.equal(other_means[:, :8], means[:, :8]) and torch.equal(other_scales[:, :8], scales[:, :8])
    assert not torch.allclose(other_scales[:, 8:], scales[:, 8:])
    other = y.clone()
    other[:, :8] = torch.randn(1, 8, 8, 8)
    other_means, other_scales = model.hyper_parameters(model.h_a(other))
    assert torch.equal(other_means[:, 8:], means[:, 8:]) and torch.equal(other_scales[:, 8:], scales[:, 8:])
    # it trains: every part of both hyperpriors gets a gradient
    x = images()
    loss_fn()(model(x), x)["loss"].backward()
    for name, p in model.named_parameters():
        if name.startswith(("h_a.", "h_s.")):
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    # and codes: every prefix decodes to the latents the encoder reconstructed
    informative(model)
    photo = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(3))
    encoded = compress_image(model, photo)
    for level in range(1, 5):
        assert torch.equal(decode_bitstream(model, encoded.data, level).latents, encoded.level_latents[level - 1])
    rebuilt = build_codec(**model.config)
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.update(force=True)
    assert compute_model_identity(rebuilt) == compute_model_identity(model)


def test_separate_entropy_models_need_a_base_layer():
    with pytest.raises(ValueError, match="base_channels > 0"):
        build_codec("rmpgc", **SMALL, entropy_models="separate")
    with pytest.raises(ArchitectureError, match="entropy_models: separate needs base_channels > 0"):
        validate_architecture({"name": "rmpgc", "M": 24, "entropy_models": "separate"})
    with pytest.raises(ArchitectureError, match="loss_normalisation"):
        validate_architecture({"name": "rmpgc", "loss_normalisation": "ema"})


@pytest.mark.parametrize("overlay", ["rmpgc-paper.yaml", "rmpgc-paper-vh.yaml"])
def test_the_paper_overlays_retrain_rmpgc_with_the_papers_settings(overlay):
    config = load_study_config(REPO / "config" / "config.yaml", REPO / "config" / overlay)
    job = config["baselines"]["rmpgc"]
    validate_architecture(job["architecture"])
    assert job["source"] == "train" and job["lr"] == 1e-4 and job["init"] == "hyperprior"
    assert job["architecture"]["entropy_models"] == "separate"
    if overlay == "rmpgc-paper.yaml":  # V-A's scaled terms, lambda_R = lambda_MSE = 1, lambda_SFM = 10
        assert job["architecture"]["loss_normalisation"] == "running_mean"
        assert job["architecture"]["feature_weight"] == 10.0
        assert [lam * 255**2 for lam in job["lambdas"]] == pytest.approx([1.0, 1.0, 1.0])
    else:  # V-H's case (B) as stated
        assert "loss_normalisation" not in job["architecture"]
        assert job["architecture"]["feature_weight"] == 1.0 and job["lambdas"] == [5e-4, 5e-4, 7e-3]
    model = build_codec(**job["architecture"])
    assert model.base_channels == 24 and model.training_levels == len(job["lambdas"]) == 3
