"""Codec registry, forward pass, prefix reconstruction and exact coding (tiny sizes, CPU)."""

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from coarse2fine.architectures import validate_architecture
from coarse2fine.errors import ArchitectureError
from coarse2fine.models import CODECS, build_codec, crop_to_size, pad_to_multiple, plan_slices, register_codec
from coarse2fine.plan.config import load_study_config
from conftest import REPO

TINY = dict(backbone="conv", N=16, M=24, level_blocks=[8, 8, 8])
TINY_TIC = dict(
    backbone="tic",
    N=16,
    M=24,
    level_blocks=[8, 8, 8],
    backbone_options={"window": 2, "depths": [1, 1, 2], "hyper_depths": [1, 1]},
)


# Small models on one thread: fast and free of thread-count effects.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def images(batch=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth content (a low-resolution field upsampled) codes more like a photo than noise
    low = torch.rand(batch, 3, size // 8, size // 8, generator=g)
    return torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)


def coded_codec(**overrides):
    torch.manual_seed(0)
    codec = build_codec("c2f", **{**TINY, **overrides}).eval()
    codec.update(force=True)
    return codec


def test_registry_and_config_rebuild():
    codec = build_codec("c2f", **TINY, slices_per_block=2, delta=True)
    assert "c2f" in CODECS
    assert codec.num_levels == 3 and codec.level_blocks == [8, 8, 8] and codec.pad_multiple == 64
    twin = build_codec(**codec.config)
    assert twin.config == codec.config
    assert {k: v.shape for k, v in twin.state_dict().items()} == {k: v.shape for k, v in codec.state_dict().items()}
    with pytest.raises(ArchitectureError, match="unknown codec"):
        build_codec("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_codec("c2f")(object)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"N": -1}, r"architecture\.N: -1 is less than the minimum of 1"),
        ({"N": 131072}, r"architecture\.N: 131072 is greater than the maximum"),
        ({"Nn": 16}, r"'Nn' was unexpected\) \(known keys: M, N, "),
        ({"level_blocks": [8, "8", 8]}, r"architecture\.level_blocks\.1: '8' is not of type 'integer'"),
        ({"delta": "yes"}, r"architecture\.delta: 'yes' is not of type 'boolean'"),
        ({"backbone": "resnet"}, r"architecture\.backbone: unknown backbone 'resnet'"),
        ({"backbone": ["conv"]}, r"architecture\.backbone: \['conv'\] is not of type 'string'"),
        ({"backbone": "tic", "backbone_options": {"windw": 4}}, r"backbone_options: .*'windw' was unexpected"),
    ],
)
def test_architectures_are_checked_against_their_schema_before_building(config, message):
    with pytest.raises(ArchitectureError, match=message):
        build_codec("c2f", **{**TINY, **config})


def test_rules_across_keys_are_named_before_building():
    with pytest.raises(ArchitectureError, match=r"level_blocks: \[8, 8, 8\] sum to 24, not M = 32"):
        validate_architecture({"name": "c2f", "M": 32, "level_blocks": [8, 8, 8]})
    with pytest.raises(ArchitectureError, match="base_channels: 24 must be below M = 24"):
        validate_architecture({"name": "rmpgc", "M": 24, "base_channels": 24})


def study_configs() -> list[tuple[Path, ...]]:
    """config.yaml alone and merged with each study overlay (every config/*.yaml but the
    hierarchy files), as `--configfile config/config.yaml config/<overlay>` gives them."""
    base = REPO / "config" / "config.yaml"
    overlays = sorted(p for p in (REPO / "config").glob("*.yaml") if p != base and not p.name.startswith("hierarchy"))
    return [(base,), *((base, overlay) for overlay in overlays)]


def test_every_shipped_config_fits_the_architecture_schemas():
    configs = study_configs()
    assert {files[-1].name for files in configs} >= {"config.yaml", "test.yaml", "imagenet.yaml", "seeds.yaml"}
    for files in configs:
        # merged and schema-checked as the workflow merges them: what its jobs will build
        config = load_study_config(*files)
        where = " + ".join(f.name for f in files)
        assert config["codecs"], where
        for name, spec in config["codecs"].items():
            validate_architecture(spec["architecture"], f"{where} codecs.{name}")
        for name, spec in (config.get("baselines") or {}).items():
            if "architecture" in spec:
                validate_architecture(spec["architecture"], f"{where} baselines.{name}")


@pytest.mark.parametrize("blocks", [[12, 12], [6, 6, 6, 6]])
def test_number_of_levels_follows_level_blocks(blocks):
    codec = build_codec("c2f", backbone="conv", N=16, M=24, level_blocks=blocks)
    out = codec(images(batch=1))
    assert codec.num_levels == len(blocks) == len(out["x_hat"]) == len(out["likelihoods"]["y"])
    assert [lik.shape[1] for lik in out["likelihoods"]["y"]] == blocks


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(level_blocks=[8, 8, 4]), "sum to 20"),
        (dict(level_blocks=[24]), r"level_blocks: \[24\] is too short"),
        (dict(level_blocks=[4, 4, 4, 4, 4, 4], M=24), "level_blocks: .* is too long"),
        (dict(slices_per_block=9), "slices_per_block"),
        (dict(backbone="resnet"), "unknown backbone"),
    ],
)
def test_bad_configuration_is_named(bad, message):
    with pytest.raises((ValueError, KeyError), match=message):
        build_codec("c2f", **{**TINY, **bad})


def test_bad_input_size_is_named():
    with pytest.raises(ValueError, match="not a multiple of 64"):
        build_codec("c2f", **TINY)(torch.rand(1, 3, 64, 80))


def test_slices_cover_blocks_in_order():
    slices = plan_slices([5, 3], 2)
    assert [(s.level, s.start, s.end) for s in slices] == [(0, 0, 2), (0, 2, 5), (1, 5, 6), (1, 6, 8)]


@pytest.mark.parametrize("options", [TINY, TINY_TIC], ids=["conv", "tic"])
def test_forward_and_gradients(options):
    torch.manual_seed(0)
    codec = build_codec("c2f", **options, slices_per_block=2, lrp=True)
    x = images()
    out = codec(x)
    assert all(x_hat.shape == x.shape for x_hat in out["x_hat"])
    assert out["likelihoods"]["z"].shape == (2, 16, 1, 1)
    loss = sum(torch.nn.functional.mse_loss(x_hat, x) for x_hat in out["x_hat"])
    loss = loss + sum(-torch.log(lik).sum() for lik in [out["likelihoods"]["z"], *out["likelihoods"]["y"]])
    loss.backward()
    assert codec.g_a[0].weight.grad.abs().sum() > 0
    assert codec.aux_loss().item() > 0


def test_prefix_reconstruction_ignores_later_blocks():
    torch.manual_seed(0)
    codec = build_codec("c2f", **TINY).eval()
    y_hat = torch.randn(1, 24, 1, 1).repeat(1, 1, 4, 4)
    other = y_hat.clone()
    other[:, 8:] = torch.randn(1, 16, 4, 4)
    first = codec.g_s(codec.prefix_latents(y_hat, 1))
    assert torch.equal(first, codec.g_s(codec.prefix_latents(other, 1)))
    assert not torch.equal(codec.g_s(codec.prefix_latents(y_hat, 2)), codec.g_s(codec.prefix_latents(other, 2)))


def test_delta_networks_start_as_identity():
    torch.manual_seed(0)
    codec = build_codec("c2f", **TINY, delta=True)
    delta = codec.entropy.delta_nets["1"]
    mean, scale = torch.randn(1, 8, 4, 4), torch.rand(1, 8, 4, 4) + 0.2
    context = torch.randn(1, 2 * 24 + 8, 4, 4)
    new_mean, new_scale = delta(context, mean, scale)
    assert torch.equal(new_mean, mean) and torch.allclose(new_scale, scale)
    assert set(codec.entropy.delta_nets) == {"1", "2"}  # later blocks only
    assert build_codec("c2f", **TINY, delta=False).entropy.delta_nets is None


@pytest.mark.parametrize(
    "options", [dict(), dict(slices_per_block=2, lrp=True), TINY_TIC], ids=["plain", "slices_lrp", "tic"]
)
def test_every_prefix_decodes_to_the_encoders_latents(options):
    codec = coded_codec(**options)
    x = images()
    enc = codec.compress(x)
    assert len(enc["strings"]) == 1 + codec.num_levels
    assert all(len(s) == 2 and all(isinstance(b, bytes) for b in s) for s in enc["strings"])
    for n in range(1, codec.num_levels + 1):
        dec = codec.decompress(enc["strings"][: 1 + n], enc["shape"])
        keep = sum(codec.level_blocks[:n])
        assert torch.equal(dec["y_hat"][:, :keep], enc["y_hat"][:, :keep])
        assert not dec["y_hat"][:, keep:].any()
        assert torch.equal(dec["x_hat"], codec.g_s(codec.prefix_latents(enc["y_hat"], n)).clamp(0, 1))
    # the coded latents are the model's own quantised latents, up to the 1/256 grid of the means
    with torch.no_grad():
        y = codec.g_a(x)
        forward_y_hat = codec.entropy(y, codec.h_s(codec.entropy_bottleneck(codec.h_a(y))[0]))[0]
    assert ((enc["y_hat"] - forward_y_hat).abs() < 0.01).float().mean() > 0.95


def test_decoder_rebuilt_from_state_dict_matches():
    codec = coded_codec(slices_per_block=2)
    enc = codec.compress(images())
    receiver = build_codec(**codec.config)
    receiver.load_state_dict(codec.state_dict())
    receiver.eval()
    assert torch.equal(receiver.decompress(enc["strings"], enc["shape"])["y_hat"], enc["y_hat"])


def test_decompress_rejects_wrong_level_count():
    codec = coded_codec()
    enc = codec.compress(images(batch=1))
    with pytest.raises(ValueError, match="1 to 3 level strings"):
        codec.decompress(enc["strings"][:1], enc["shape"])
    with pytest.raises(ValueError, match="two positive sizes"):
        codec.decompress(enc["strings"], (0, 1))
    with pytest.raises(ValueError, match="one string per image"):
        codec.decompress([enc["strings"][0], enc["strings"][1] * 2], enc["shape"])


def test_coding_needs_update():
    codec = build_codec("c2f", **TINY).eval()
    codec.entropy_bottleneck.update(force=True)
    with pytest.raises(RuntimeError, match="update"):
        codec.compress(images(batch=1))


_DECODE_SCRIPT = textwrap.dedent("""
    import pickle, sys, torch
    from coarse2fine.models import build_codec
    torch.set_num_threads(int(sys.argv[2]))
    blob = pickle.load(open(sys.argv[1], "rb"))
    codec = build_codec(**blob["config"])
    codec.load_state_dict(blob["state"])
    codec.eval()
    results = {}
    for n in range(1, codec.num_levels + 1):
        dec = codec.decompress(blob["strings"][: 1 + n], blob["shape"])
        image = (dec["x_hat"] * 255).round().to(torch.uint8)
        results[n] = (dec["y_hat"].numpy().tobytes(), image.numpy().tobytes())
    enc = codec.compress(blob["x"])
    results["strings"] = enc["strings"]
    pickle.dump(results, open(sys.argv[1] + ".out", "wb"))
""")


def coded_in_another_process(codec, x, enc, tmp_path, threads: int = 2) -> dict:
    """What a second process with `threads` torch threads makes of the codec's weights and
    stream: its own encoding of x ("strings") and, per level n, (y_hat bytes, uint8 image bytes)."""
    blob = tmp_path / "stream.pkl"
    pickle.dump(
        {"config": codec.config, "state": codec.state_dict(), "strings": enc["strings"], "shape": enc["shape"], "x": x},
        open(blob, "wb"),
    )
    subprocess.run([sys.executable, "-c", _DECODE_SCRIPT, str(blob), str(threads)], check=True, timeout=120)
    return pickle.load(open(str(blob) + ".out", "rb"))


def test_decode_in_another_process_with_other_thread_count_is_identical(tmp_path):
    codec = coded_codec(slices_per_block=2, lrp=True)
    x = images()
    enc = codec.compress(x)
    theirs = coded_in_another_process(codec, x, enc, tmp_path)
    assert theirs["strings"] == enc["strings"]  # the other process encodes the same bytes
    for n in range(1, codec.num_levels + 1):
        dec = codec.decompress(enc["strings"][: 1 + n], enc["shape"])
        image = (dec["x_hat"] * 255).round().to(torch.uint8)
        assert theirs[n] == (dec["y_hat"].numpy().tobytes(), image.numpy().tobytes())


def test_pad_and_crop_round_trip():
    x = torch.rand(1, 3, 100, 70)
    padded, size = pad_to_multiple(x, 64)
    assert padded.shape[-2:] == (128, 128) and size == (100, 70)
    assert torch.equal(crop_to_size(padded, size), x)
    assert pad_to_multiple(padded, 64)[0] is padded
    with pytest.raises(ValueError, match="N, C, H, W"):
        pad_to_multiple(torch.rand(3, 10, 10), 64)


def test_table_lookup_matches_compressai_build_indexes_element_for_element():
    from compressai.entropy_models import GaussianConditional

    from coarse2fine.models.gaussian_tables import TableGaussianConditional, fine_scale_table

    ours, theirs = TableGaussianConditional(None), GaussianConditional(None)
    for gc in (ours, theirs):
        gc.update_scale_table(fine_scale_table(), force=True)
    table = theirs.scale_table
    generator = torch.Generator().manual_seed(0)
    scales = torch.cat(
        [
            torch.exp(torch.randn(4000, generator=generator, dtype=torch.float64) * 2),  # spread over the table
            table.double(),
            table.double() * (1 + 1e-12),
            table.double() * (1 - 1e-12),  # on and beside entries
            torch.tensor([0.0, -1.0, 1e9, float("nan")], dtype=torch.float64),
        ]
    ).reshape(1, -1, 1, 1)
    for dtype in (torch.float64, torch.float32):
        expected = theirs.build_indexes(scales.to(dtype))
        got = ours.build_indexes(scales.to(dtype))
        assert got.dtype == expected.dtype == torch.int32
        assert torch.equal(got, expected)
    assert len(set(got.reshape(-1).tolist())) > 400  # the test spans the table, not one corner


@pytest.mark.parametrize(
    "name, kwargs, masked",
    [
        ("c2f", {"N": 16, "M": 24, "level_blocks": [8, 8, 8]}, True),
        ("hyperprior", {"N": 16, "M": 24}, True),
        ("deephq", {"N": 16, "M": 24, "layers": 3}, False),
        ("rmpgc", {"N": 16, "M": 24, "target_bpp": [0.2, 0.5]}, False),
    ],
)
def test_every_registered_codec_speaks_the_progressive_interface(name, kwargs, masked, one_torch_thread):
    from coarse2fine.models import MaskedPrefixCodec, ProgressiveCodec

    codec = build_codec(name, **kwargs).eval()
    codec.update(force=True)
    assert isinstance(codec, ProgressiveCodec) and isinstance(codec, MaskedPrefixCodec) == masked
    if name == "rmpgc":
        return  # compress needs its classifier (tests/test_rmpgc.py codes it)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    enc = codec.compress(x)
    assert len(enc["strings"]) == 1 + codec.num_levels and len(enc["y_hat_levels"]) == codec.num_levels
    for n in range(1, codec.num_levels + 1):
        dec = codec.decompress(enc["strings"][: 1 + n], enc["shape"])
        assert torch.equal(dec["y_hat"], enc["y_hat_levels"][n - 1]) and dec["levels"] == n
        if masked:
            assert torch.equal(codec.prefix_latents(enc["y_hat"], n), enc["y_hat_levels"][n - 1])


def test_training_quantization_rate_by_noise_synthesis_by_ste_or_noise(one_torch_thread):
    """The rate term is always trained with additive uniform noise (CompressAI's Gaussian
    conditional in training mode); the synthesis and the channel context see the rounded latent
    (ste, the default) or the latent plus noise (noise, the official TIC code's choice)."""
    torch.manual_seed(0)
    codec = build_codec("c2f", N=16, M=24, level_blocks=[8, 8, 8]).train()
    y, hyper = torch.randn(1, 24, 4, 4) * 3, torch.randn(1, 48, 4, 4)  # the hyper-latent path held fixed
    (first, first_lik), (second, second_lik) = codec.entropy(y, hyper), codec.entropy(y, hyper)
    assert not torch.equal(first_lik[0], second_lik[0])  # noise in the rate term
    assert torch.equal(first, second)  # rounded latents: what the synthesis sees is the same
    codec.set_training_quantization("noise")
    noisy, _ = codec.entropy(y, hyper)
    assert not torch.equal(noisy, first) and (noisy - y).abs().max() <= 0.5
    codec.eval()  # coding and evaluation always round
    assert torch.equal(codec.entropy(y, hyper)[0], codec.entropy(y, hyper)[0])
    with pytest.raises(ValueError, match="ste or noise"):
        codec.set_training_quantization("round")


def test_every_codec_takes_the_protocols_pixels_argument():
    """The coding layer passes every codec the original pixel count (ProgressiveCodec.compress):
    a rate-controlled codec aims at it, the others accept and ignore it; no signature is probed."""
    import inspect

    assert {"c2f", "hyperprior", "deephq", "rmpgc"} <= set(CODECS)
    for name, cls in CODECS.items():
        parameter = inspect.signature(cls.compress).parameters.get("pixels")
        assert parameter is not None and parameter.default is None, name
