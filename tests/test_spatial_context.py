"""TIC's causal spatial-attention context in the c2f entropy model (context="causal_attention"):
causality, one computation for training and coding, a fresh context that changes nothing, and
every prefix decoding bit-exactly when the context does change the parameters."""

import pytest
import torch

from coarse2fine.errors import ArchitectureError
from coarse2fine.models import build_codec
from coarse2fine.models.spatial_context import CausalAttentionContext, ContextFusion
from test_models import TINY, coded_in_another_process, images

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONTEXT = dict(context="causal_attention", context_heads=2)


def trained_looking(codec):
    """Non-zero last layers, so the context moves means and scales as a trained one would."""
    torch.manual_seed(1)
    with torch.no_grad():
        for fusion in codec.entropy.context_fusions:
            torch.nn.init.normal_(fusion.net[-1].weight, std=0.2)
        for net in codec.entropy.context_nets:
            torch.nn.init.normal_(net.position_bias, std=0.5)
        codec.g_a[-1].weight *= 20  # a latent that costs bits, like a trained model's
    return codec


def test_a_position_sees_only_the_positions_before_it():
    torch.manual_seed(0)
    net = CausalAttentionContext(dim=6, out_dim=4, heads=2, window=5).double()
    prefix = torch.randn(1, 6, 6, 7, dtype=torch.float64)
    row, col = 3, 4
    changed = prefix.clone()
    changed[:, :, row, col:] = torch.randn(6, 7 - col, dtype=torch.float64)  # the position and the rest of its row
    changed[:, :, row + 1 :] = torch.randn(6, 6 - row - 1, 7, dtype=torch.float64)  # every row below
    before, after = net(prefix), net(changed)
    raster = torch.arange(6 * 7).reshape(6, 7)
    up_to = raster <= raster[row, col]
    assert torch.equal(before[:, :, up_to], after[:, :, up_to])  # causal: nothing at or after (row, col) leaks
    assert not torch.allclose(before[:, :, ~up_to], after[:, :, ~up_to])  # later positions do read it


def test_coding_one_position_at_a_time_computes_what_training_computes():
    torch.manual_seed(0)
    net = CausalAttentionContext(dim=8, out_dim=6, heads=4, window=5).double()
    prefix = torch.randn(2, 8, 4, 5, dtype=torch.float64)
    whole, padded = net(prefix), net.pad(prefix)
    for row in range(4):
        for col in range(5):
            assert torch.allclose(net.at(padded, row, col), whole[:, :, row, col], atol=1e-12)


def test_a_fresh_context_leaves_the_channel_model_unchanged():
    fusion = ContextFusion(context_dim=6, channels=3, width=8)
    mean, scale = torch.randn(2, 3, 4, 4), torch.rand(2, 3, 4, 4) + 0.2
    new_mean, new_scale = fusion(torch.randn(2, 6, 4, 4), mean, scale)
    assert torch.equal(new_mean, mean) and torch.equal(new_scale, scale)
    # ... so a codec with a fresh context gives the likelihoods of the same codec without it
    torch.manual_seed(0)
    plain = build_codec("c2f", **TINY).eval()
    torch.manual_seed(0)
    spatial = build_codec("c2f", **TINY, **CONTEXT).eval()
    missing, unexpected = spatial.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("entropy.context_") for k in missing)
    x = images()
    with torch.no_grad():
        ours, theirs = spatial.likelihoods(x)["y"], plain.likelihoods(x)["y"]
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_every_prefix_decodes_bit_exactly_with_the_context_at_work():
    codec = trained_looking(build_codec("c2f", **TINY, **CONTEXT, slices_per_block=2, lrp=True).eval())
    codec.update(force=True)
    x = images()
    enc = codec.compress(x)
    for n in range(1, codec.num_levels + 1):
        dec = codec.decompress(enc["strings"][: 1 + n], enc["shape"])
        assert torch.equal(dec["y_hat"], enc["y_hat_levels"][n - 1])
    # the context is at work: the same weights without it code other bytes
    plain = build_codec("c2f", **TINY, slices_per_block=2, lrp=True).eval()
    plain.load_state_dict(codec.state_dict(), strict=False)
    plain.update(force=True)
    assert plain.compress(x)["strings"][1:] != enc["strings"][1:]
    # ... and a receiver rebuilt from the config and weights alone decodes the same stream
    receiver = build_codec(**codec.config)
    receiver.load_state_dict(codec.state_dict())
    receiver.eval()
    assert torch.equal(receiver.decompress(enc["strings"], enc["shape"])["y_hat"], enc["y_hat"])


def test_the_context_trains():
    codec = trained_looking(build_codec("c2f", **TINY, **CONTEXT))
    out = codec(images())
    rate = sum(-torch.log2(lik).sum() for lik in out["likelihoods"]["y"])
    rate.backward()
    assert all(net.qkv.weight.grad.abs().sum() > 0 for net in codec.entropy.context_nets)
    assert all(f.net[-1].weight.grad.abs().sum() > 0 for f in codec.entropy.context_fusions)


def test_the_context_is_recorded_only_when_used_and_its_options_are_checked():
    assert "context" not in build_codec("c2f", **TINY).config  # older checkpoints and streams keep their identity
    config = build_codec("c2f", **TINY, **CONTEXT).config
    assert (config["context"], config["context_heads"], config["context_window"]) == ("causal_attention", 2, 5)
    with pytest.raises(ValueError, match="context_heads=3 must divide the context's 8 channels"):
        build_codec("c2f", **TINY, context="causal_attention", context_heads=3)
    with pytest.raises(ArchitectureError, match="context"):
        build_codec("c2f", **TINY, context="spatial")
    with pytest.raises(ValueError, match="context_window=4 must be an odd number"):
        build_codec("c2f", **TINY, context="causal_attention", context_heads=2, context_window=4)


def test_another_process_with_another_thread_count_codes_and_decodes_the_same(tmp_path):
    codec = trained_looking(build_codec("c2f", **TINY, **CONTEXT).eval())
    codec.update(force=True)
    x = images()
    enc = codec.compress(x)
    theirs = coded_in_another_process(codec, x, enc, tmp_path)
    assert theirs["strings"] == enc["strings"]
    for n in range(1, codec.num_levels + 1):
        assert theirs[n][0] == codec.decompress(enc["strings"][: 1 + n], enc["shape"])["y_hat"].numpy().tobytes()


def test_the_paper_configs_codec_codes_every_prefix_with_the_context():
    import yaml

    from conftest import REPO

    architecture = yaml.safe_load((REPO / "config" / "imagenet.yaml").read_text())["codecs"]["c2f"]["architecture"]
    assert architecture["context"] == "causal_attention"
    torch.manual_seed(0)
    codec = trained_looking(build_codec(**architecture).eval())
    codec.update(force=True)
    enc = codec.compress(images(batch=1))
    for n in range(1, codec.num_levels + 1):
        assert torch.equal(codec.decompress(enc["strings"][: 1 + n], enc["shape"])["y_hat"], enc["y_hat_levels"][n - 1])
