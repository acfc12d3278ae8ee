"""The mean-scale hyperprior (base of the progressive baselines) and the training hooks the
baselines' phases use: weights transferred across architectures, a subset of parameters trained."""

from __future__ import annotations

import pytest
import torch

from coarse2fine.coding.codec_io import compress_image, decode_bitstream
from coarse2fine.models import build_codec
from coarse2fine.training.job import split_parameters, transfer_weights


def _hyperprior():
    torch.manual_seed(0)
    codec = build_codec("hyperprior", N=16, M=24)
    codec.eval()
    codec.update(force=True)
    return codec


def test_forward_has_one_segment_and_finite_likelihoods():
    codec = build_codec("hyperprior", N=16, M=24)
    out = codec(torch.rand(2, 3, 64, 64))
    assert len(out["x_hat"]) == 1 and out["x_hat"][0].shape == (2, 3, 64, 64)
    assert len(out["likelihoods"]["y"]) == 1 and torch.isfinite(out["likelihoods"]["y"][0]).all()
    assert codec.num_levels == 1 and codec.level_blocks == [24]


def test_stream_decodes_to_the_encoders_latents_on_any_thread_count(one_torch_thread):
    codec = _hyperprior()
    x = torch.rand(1, 3, 70, 90)
    encoded = compress_image(codec, x)
    torch.set_num_threads(2)
    decoded = decode_bitstream(codec, encoded.data)
    assert torch.equal(decoded.latents, encoded.latents)
    assert decoded.image.shape == x.shape


def test_transfer_loads_the_shared_transforms_of_another_architecture():
    c2f = build_codec("c2f", backbone="conv", N=16, M=24, level_blocks=[8, 8, 8])
    base = build_codec("hyperprior", N=16, M=24)
    loaded, fresh = transfer_weights(base, c2f.state_dict())
    assert any(k.startswith("g_a.") for k in loaded) and any(k.startswith("h_s.") for k in loaded)
    assert torch.equal(base.g_a[0].weight, c2f.g_a[0].weight)
    with pytest.raises(ValueError, match="shares no weights"):
        transfer_weights(base, {"other.weight": torch.zeros(3)})


def test_trainable_prefixes_freeze_every_other_parameter():
    codec = build_codec("hyperprior", N=16, M=24)
    main, aux = split_parameters(codec, ["g_s."])
    assert main and all(p.requires_grad for p in main)
    assert sum(p.numel() for p in main) == sum(p.numel() for p in codec.g_s.parameters())
    assert not any(p.requires_grad for p in codec.g_a.parameters())
    assert aux  # the entropy bottleneck's quantiles always train
    with pytest.raises(ValueError, match="no parameter matches"):
        split_parameters(build_codec("hyperprior", N=16, M=24), ["nothing."])
