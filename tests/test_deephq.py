"""DeepHQ: nested-interval quantisation, selective compression and real layer bitstreams."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import coarse2fine.models.deephq  # noqa: F401  (registers "deephq")
from coarse2fine.architectures import validate_architecture
from coarse2fine.coding.codec_io import compress_image, decode_bitstream, decode_every_level, estimated_bits
from coarse2fine.coding.errors import BitstreamError
from coarse2fine.container import Bitstream, parse_bitstream
from coarse2fine.models import C2FLoss, MaskedPrefixCodec, ProgressiveCodec, build_codec, nested
from coarse2fine.models.deephq import DeepHQ, HierarchicalStepSizes, LayerCoder
from coarse2fine.plan.config import load_study_config

LAYERS = 4


def toy_codec(selective: bool = True, seed: int = 0, layers: int = LAYERS, selector: str = "exponent") -> DeepHQ:
    """A small random codec with latents of a few units (random g_a gives nearly zero latents,
    which would code almost nothing) and, when selective, a random importance selector."""
    torch.manual_seed(seed)
    codec = build_codec("deephq", N=16, M=24, layers=layers, selective=selective, selector=selector)
    with torch.no_grad():
        codec.g_a[-1].weight.mul_(40)
        codec.h_s[-1].bias[24:].fill_(2.0)  # scales of the order of the latents
        if selective and selector == "threshold":
            torch.nn.init.normal_(codec.selector.score[2].weight, std=0.5)
            codec.selector.score[2].bias.fill_(0.0)
            codec.selector.first_threshold.fill_(1.0)
            codec.selector.threshold_gaps.fill_(-1.0)
        elif selective:  # importance around 1/2, exponents falling: each layer selects more
            torch.nn.init.normal_(codec.selector.importance_net[2].weight, std=0.5)
            codec.selector.importance_net[2].bias.fill_(-5.0)
            codec.selector.exponent.copy_(torch.logspace(1, -2, layers, base=2)[:, None].expand(layers, 24))
    codec.eval().update(force=True)
    return codec


def smooth_image(seed: int = 0, size: int = 128) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.avg_pool2d(torch.rand(1, 3, size, size, generator=g), 9, 1, 4)


def rd_loss(layers: int = LAYERS) -> C2FLoss:
    return C2FLoss([0.01] * layers, [1.0] * layers, [0.0] * layers, level_maps=[np.zeros(1000, int)] * (layers - 1))


def encoder_trace(codec: DeepHQ, x: torch.Tensor):
    """(residual y - mean, the encoder's interval bounds after each layer, masks) of image x."""
    with torch.no_grad():
        y = codec.g_a(x)
        z = codec.h_a(y)
        z_hat = codec.entropy_bottleneck.decompress(codec.entropy_bottleneck.compress(z), z.shape[-2:])
        params = codec.exact_layer_parameters(z_hat)
    coder = LayerCoder(codec, params, 0, codec.gaussian_tables())
    residual = (y[0].double() - params["means"][0]).reshape(-1).numpy()
    trace = []
    for layer in range(codec.num_levels):
        coder.encode_layer(layer, residual)
        trace.append((coder.bounded.copy(), coder.lower.copy(), coder.upper.copy()))
    return residual, trace, [m[0].reshape(-1).numpy() for m in params["masks"]]


def test_config_and_errors():
    codec = toy_codec()
    assert codec.config["layers"] == LAYERS and codec.config["selective"] is True
    assert codec.level_blocks == [24] * LAYERS and codec.num_levels == LAYERS
    assert isinstance(build_codec(**codec.config), DeepHQ)
    for bad in (1, 17, 2.0, True):
        with pytest.raises(ValueError, match="layers"):
            build_codec("deephq", N=16, M=24, layers=bad)
    with pytest.raises(ValueError, match="selective"):
        build_codec("deephq", N=16, M=24, selective="yes")
    # its prefixes are coarser quantisations, not a masking of y_hat: they come from compress()
    assert isinstance(codec, ProgressiveCodec) and not isinstance(codec, MaskedPrefixCodec)
    names = [n for n, _ in codec.named_parameters()]
    assert any(n.startswith("quantizer.") for n in names) and any(n.startswith("selector.") for n in names)
    assert not any(n.startswith("selector.") for n, _ in toy_codec(selective=False).named_parameters())


def test_forward_shapes_finite_loss_and_gradients(one_torch_thread):
    codec = toy_codec().train()
    x = smooth_image(size=64).repeat(2, 1, 1, 1)
    out = codec(x)
    assert len(out["x_hat"]) == LAYERS and all(t.shape == x.shape for t in out["x_hat"])
    assert len(out["likelihoods"]["y"]) == LAYERS
    assert all(lik.shape == (2, 24, 4, 4) and (lik > 0).all() and (lik <= 1).all() for lik in out["likelihoods"]["y"])
    terms = rd_loss()(out, x)
    assert math.isfinite(terms["loss"].item())
    terms["loss"].backward()
    for prefix in ("quantizer.", "selector.", "g_a.", "h_s."):
        grads = [p.grad for n, p in codec.named_parameters() if n.startswith(prefix)]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), prefix
        assert any(g.abs().sum() > 0 for g in grads), prefix


def test_step_sizes_strictly_decrease():
    torch.manual_seed(1)
    steps = HierarchicalStepSizes(8, 5)
    with torch.no_grad():
        steps.ratio_logits.normal_(0, 30)  # ratios from the bottom to the top of their range
        steps.log_finest_step.normal_(0, 2)
    for dtype in (torch.float32, torch.float64):
        s = steps(dtype)
        assert s.shape == (8, 5) and (s > 0).all() and (s[:-1] > s[1:]).all()
        assert (s[:-1] / s[1:] <= 16 * (1 + 1e-5)).all()


def test_every_layer_of_eight_codes_something_from_the_start(one_torch_thread):
    """The initial steps halve (at least) from layer to layer: a centred grid cuts a parent only
    into whole cells, so with ratios under 2 (8 layers spread from 4 to 0.5) every second layer
    coded nothing and, with no gradient through its ratio, stayed empty."""
    initial = HierarchicalStepSizes(8, 3)().detach()
    assert torch.allclose(initial[:-1] / initial[1:], torch.full((7, 3), 2.0))
    assert torch.allclose(initial[-1], torch.full((3,), 0.5))
    assert torch.allclose(HierarchicalStepSizes(4, 3)().detach()[:, 0], torch.tensor([4.0, 2.0, 1.0, 0.5]))
    steps = initial[:, 0].double().numpy()
    for parent, child in zip(steps, steps[1:]):  # a cell of layer l-1 is cut into pieces by layer l
        count = nested.centred_grid(np.array([-parent / 2]), np.array([parent / 2]), np.array([child]), 17)[3]
        assert count[0] > 1, (parent, child)
    spread = np.geomspace(4.0, 0.5, 8)  # the old initial steps: nothing to cut at layer 2
    assert nested.centred_grid(np.array([-spread[0] / 2]), np.array([spread[0] / 2]), spread[1:2], 17)[3][0] == 1


def test_nested_intervals_hold_y_and_shrink(one_torch_thread):
    codec = toy_codec(selective=False)
    residual, trace, _ = encoder_trace(codec, smooth_image())
    widths = []
    for layer, (bounded, lower, upper) in enumerate(trace):
        assert bounded.all()
        assert (lower <= residual + 1e-9).all() and (residual <= upper + 1e-9).all()
        if layer:
            _, parent_lower, parent_upper = trace[layer - 1]
            assert (lower >= parent_lower).all() and (upper <= parent_upper).all()
        widths.append((upper - lower).mean())
    assert all(a > b for a, b in zip(widths, widths[1:]))
    errors = [np.mean((residual - (lo + up) / 2) ** 2) for _, lo, up in trace]
    assert all(a > b for a, b in zip(errors, errors[1:]))


@pytest.mark.parametrize("selector", ["exponent", "threshold"])
def test_selection_masks_nested(one_torch_thread, selector):
    codec = toy_codec(selector=selector)
    residual, trace, masks = encoder_trace(codec, smooth_image())
    for coarse, fine in zip(masks, masks[1:]):
        assert not (coarse & ~fine).any()  # selected at a layer => selected at every later one
    assert 0 < masks[0].sum() < masks[-1].sum()  # the random selector does select
    for mask, (bounded, lower, upper) in zip(masks, trace):
        assert np.array_equal(bounded, mask)  # exactly the selected elements have an interval
    # Training path: hard masks nested too, everything selected without the selector.
    x = smooth_image(size=64)
    with torch.no_grad():
        a = codec.analyse(x)
        hard, _ = codec.selection_masks(torch.cat([a["means"], a["scales"]], 1))
    assert all(not (c & ~f).any() for c, f in zip(hard, hard[1:]))
    plain = toy_codec(selective=False)
    assert all(m.all() for m in encoder_trace(plain, smooth_image())[2])


def test_rates_grow_and_a_short_training_lowers_distortion_per_layer(one_torch_thread):
    codec = toy_codec(selective=False)
    bits = estimated_bits(codec, smooth_image())
    assert all(a < b for a, b in zip(bits, bits[1:]))

    torch.manual_seed(0)
    codec = build_codec("deephq", N=16, M=24, layers=LAYERS)
    loss = rd_loss()
    x = torch.nn.functional.avg_pool2d(torch.rand(2, 3, 64, 64), 9, 1, 4)
    optimiser = torch.optim.Adam(codec.parameters(), 1e-3)
    for _ in range(40):
        terms = loss(codec(x), x)
        optimiser.zero_grad()
        terms["loss"].backward()
        optimiser.step()
    with torch.no_grad():
        terms = loss(codec.eval()(x), x)
    mse = [terms[f"mse_{k}"] for k in range(1, LAYERS + 1)]
    bpp = [terms[f"bpp_{k}"] for k in range(1, LAYERS + 1)]
    assert mse[-1] < mse[0] and all(b <= a * 1.02 for a, b in zip(mse, mse[1:])), mse
    assert bpp[-1] > bpp[0] and all(a <= b for a, b in zip(bpp, bpp[1:])), bpp


@pytest.mark.parametrize("selective, selector", [(False, "exponent"), (True, "exponent"), (True, "threshold")])
def test_bitstream_exact_at_every_prefix(one_torch_thread, selective, selector):
    codec = toy_codec(selective=selective, selector=selector)
    x = smooth_image()[..., :120, :100]  # padded to 128x128 by the container
    encoded = compress_image(codec, x)
    assert len(encoded.level_latents) == LAYERS
    sizes = parse_bitstream(encoded.data).segment_sizes()
    assert all(a < b for a, b in zip(sizes, sizes[1:]))
    every = decode_every_level(codec, encoded.data)  # one pass: each layer refines the last
    assert [d.level for d in every] == list(range(1, LAYERS + 1))
    for level in range(1, LAYERS + 1):
        decoded = decode_bitstream(codec, encoded.data, level=level)
        assert torch.equal(decoded.latents, encoded.level_latents[level - 1])
        assert decoded.image.shape == x.shape
        assert torch.equal(every[level - 1].latents, decoded.latents)
        assert torch.equal(every[level - 1].image, decoded.image)
    # Prefixes differ: each layer refines the latent.
    assert not torch.equal(encoded.level_latents[0], encoded.level_latents[-1])
    # The actual bits of every prefix follow the likelihood estimate (the tables are the
    # model's), up to the rANS flush and word padding of each segment (at most 12 bytes).
    stream = parse_bitstream(encoded.data)
    actual = np.cumsum([len(stream.hyper)] + [len(p) for p in stream.levels])[1:] * 8
    for k, (estimate, bits) in enumerate(zip(estimated_bits(codec, x), actual), start=2):
        assert 0.9 * estimate < bits < 1.1 * estimate + 96 * k, (estimate, bits)


def test_the_stream_check_decodes_deephq_in_one_pass_and_still_finds_a_wrong_level(one_torch_thread, tmp_path):
    """check_split's one-pass path: every level's decoded image written, the first level's cut
    file decoded by itself too, and a level the pass decoded wrongly still named."""
    import pandas as pd

    from coarse2fine.coding.split import _check_stream, _digest
    from coarse2fine.container import truncate_to_level

    codec = toy_codec()
    encoded = compress_image(codec, smooth_image()[..., :64, :64])
    rows = pd.DataFrame(
        {
            "stream": "s.c2f",
            "level": k,
            "bytes": len(truncate_to_level(encoded.data, k)),
            "latent_sha256": _digest(encoded.level_latents[k - 1]),
        }
        for k in range(1, LAYERS + 1)
    )
    mismatches = []
    index = _check_stream(codec, encoded.data, rows, mismatches, tmp_path)
    assert mismatches == [] and [r["level"] for r in index] == list(range(1, LAYERS + 1))
    assert all((tmp_path / r["png"]).is_file() for r in index)
    rows.loc[2, "latent_sha256"] = "0" * 64
    _check_stream(codec, encoded.data, rows, mismatches, None)
    assert mismatches == ["s.c2f level 3 (cut file): decodes to other latents than the encoder's"]


def test_decoding_on_two_threads_gives_the_encoder_latents():
    codec = toy_codec()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        encoded = compress_image(codec, smooth_image(seed=3))
        torch.set_num_threads(2)
        decoded = decode_bitstream(codec, encoded.data)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(decoded.latents, encoded.level_latents[-1])


def test_corrupt_payloads_raise_or_decode(one_torch_thread):
    codec = toy_codec()
    data = compress_image(codec, smooth_image(seed=4)).data
    stream = parse_bitstream(data)
    rng = np.random.default_rng(0)
    cases = []
    for segment in range(1 + LAYERS):
        for _ in range(2):
            payloads = [bytearray(stream.hyper), *(bytearray(p) for p in stream.levels)]
            target = payloads[segment]
            for i in rng.choice(len(target), size=min(6, len(target)), replace=False):
                target[i] ^= int(rng.integers(1, 256))
            cases.append(Bitstream(stream.header, bytes(payloads[0]), tuple(bytes(p) for p in payloads[1:])).to_bytes())
    cases.append(data[:-3])  # torn file: the CRC check catches it
    for corrupt in cases:
        try:
            decoded = decode_bitstream(codec, corrupt)
        except (BitstreamError, ValueError):
            continue
        assert decoded.image.shape == (1, 3, 128, 128) and torch.isfinite(decoded.image).all()


def test_initialised_from_a_hyperprior_state_dict():
    torch.manual_seed(5)
    base = build_codec("hyperprior", N=16, M=24)
    base.update(force=True)
    codec = build_codec("deephq", N=16, M=24, layers=LAYERS)
    result = codec.load_state_dict(base.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert result.missing_keys and all(k.startswith(("quantizer.", "selector.")) for k in result.missing_keys)
    for name, tensor in base.state_dict().items():
        assert torch.equal(codec.state_dict()[name], tensor), name


def test_centred_grid_fills_the_parent_symmetrically_and_widens_narrow_leftovers():
    from coarse2fine.models import nested

    step = np.array([1.0, 1.0, 1.0, 1.0])
    lower = np.array([-2.0, -1.6, -0.3, 10.0])
    upper = np.array([2.0, 1.6, 0.3, 12.9])  # half 2 (leftover 0.5), 1.6 (0.1), 0.3 (< a step), 1.45 (0.95)
    origin, grid_step, first, count = nested.centred_grid(lower, upper, step, max_children=19)
    assert np.allclose(origin, (lower + upper) / 2)
    assert count.tolist() == [5, 3, 1, 3]  # 2n+3 with edge pieces; 2n+1 widened; one child; 2n+3 (n = 0)
    assert grid_step[1] == pytest.approx(1.6 / 1.5) and grid_step[0] == 1.0  # widened only below 0.3
    for e in range(4):
        bounds = nested._child_boundaries(
            lower[e : e + 1],
            upper[e : e + 1],
            first[e : e + 1],
            count[e : e + 1],
            grid_step[e : e + 1],
            int(count[e]),
            origin[e : e + 1],
        )[0]
        widths = np.diff(bounds)
        assert bounds[0] == lower[e] and bounds[-1] == pytest.approx(upper[e]) and (widths > 0).all()
        assert np.allclose(widths, widths[::-1])  # symmetric about the midpoint
        assert widths.min() >= nested.MIN_LEFTOVER * step[e] or count[e] == 1
    # each r lands in the child whose bounds hold it
    r = np.array([-1.2, 1.5, 0.1, 12.5])
    index = nested.child_index(r, first, count, grid_step, origin)
    new_lower, new_upper = nested.child_bounds(lower, upper, first, count, index, grid_step, origin)
    assert ((new_lower <= r) & (r < new_upper)).all()


@pytest.mark.parametrize("grid", ["centred", "mean"])
def test_training_and_coding_cut_the_same_children(grid, one_torch_thread):
    """The training path's child of each element is the coding path's, for either grid: the rate
    trained is the rate coded."""
    from coarse2fine.models import nested

    codec = build_codec("deephq", N=16, M=24, layers=3, grid=grid)
    rng = np.random.default_rng(0)
    lower = rng.uniform(-5, 0, 500)
    upper = lower + rng.uniform(0.2, 6, 500)
    r = lower + (upper - lower) * rng.uniform(0, 1, 500)
    step = np.full(500, 0.7)
    t = lambda a: torch.from_numpy(a)  # noqa: E731
    origin, t_step = codec._layer_grid(t(step), t(lower), t(upper), torch.ones(500, dtype=torch.bool))
    cut = torch.floor((t(r) - origin) / t_step - 0.5)
    t_lower = torch.maximum(t(lower), origin + (cut + 0.5) * t_step)
    t_upper = torch.minimum(t(upper), origin + (cut + 1.5) * t_step)
    if grid == "centred":
        c_origin, c_step, first, count = nested.centred_grid(lower, upper, step, codec.max_children)
    else:
        c_origin, c_step = np.zeros(500), step
        first, count = nested.children(lower, upper, step, codec.max_children)
    index = nested.child_index(r, first, count, c_step, c_origin)
    c_lower, c_upper = nested.child_bounds(lower, upper, first, count, index, c_step, c_origin)
    assert np.allclose(t_lower.numpy(), c_lower) and np.allclose(t_upper.numpy(), c_upper)


def test_learned_dequantisation_starts_at_the_midpoint_and_its_gains_reach_every_path(one_torch_thread):
    """The official code's dequantisation vector (IQV): at its start the reconstruction is the
    midpoint's; once the gains move, training, encoding and decoding of every prefix all apply the
    same gain per layer and channel, and the symbols coded do not change."""
    plain = toy_codec(selective=False)
    learned = build_codec("deephq", N=16, M=24, layers=LAYERS, selective=False, dequantisation="learned")
    assert learned.load_state_dict(plain.state_dict(), strict=False).missing_keys == ["dequantiser.log_gains"]
    learned.eval().update(force=True)
    assert learned.config["dequantisation"] == "learned" and "dequantisation" not in plain.config
    x = smooth_image()
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(plain(x)["x_hat"], learned(x)["x_hat"]))
        learned.dequantiser.log_gains.normal_(0.0, 0.2)
        gains = torch.exp(learned.dequantiser.log_gains)
    encoded_plain, encoded = compress_image(plain, x), compress_image(learned, x)
    # the gains act after the entropy coder: the same payloads (the header names another model)
    stream, stream_plain = parse_bitstream(encoded.data), parse_bitstream(encoded_plain.data)
    assert stream.hyper == stream_plain.hyper and stream.levels == stream_plain.levels
    every = decode_every_level(learned, encoded.data)
    for layer in range(LAYERS):
        expected = encoded_plain.level_latents[layer] * gains[layer].view(1, -1, 1, 1)
        assert torch.allclose(encoded.level_latents[layer], expected)
        assert torch.equal(every[layer].latents, encoded.level_latents[layer])
        assert torch.equal(decode_bitstream(learned, encoded.data, level=layer + 1).latents, every[layer].latents)
    with torch.no_grad():
        trained = learned(x)["x_hat"]
    assert not torch.equal(trained[-1], plain(x)["x_hat"][-1])
    # a gradient reaches every layer's gains through the training path
    learned.train()
    loss = sum(t.square().mean() for t in learned(x)["x_hat"])
    loss.backward()
    assert (learned.dequantiser.log_gains.grad.abs().sum(dim=1) > 0).all()


def test_dequantisation_refuses_an_unknown_rule():
    with pytest.raises(ValueError, match="dequantisation.*not one of"):
        build_codec("deephq", N=16, M=24, layers=LAYERS, dequantisation="iqv")


def test_the_default_trains_phase_2_as_the_official_code_does():
    config = load_study_config(Path(__file__).resolve().parent.parent / "config" / "config.yaml")
    official = [0.0025, 0.0035, 0.0067, 0.013, 0.025, 0.05, 0.1, 0.2]  # train_phase2_ddp.py
    steps, selection = config["baselines"]["deephq_steps"], config["baselines"]["deephq"]
    for job in (steps, selection):
        validate_architecture(job["architecture"])
        assert job["architecture"]["dequantisation"] == "learned"
        # the official spacing, scaled to end where the base's lambda is
        assert job["lambdas"] == pytest.approx([lam * 0.05 for lam in official])
        assert job["lambdas"][-1] == config["baselines"]["hyperprior"]["lambdas"][0]
    assert steps["architecture"]["selective"] is False and selection["architecture"]["selective"] is True
    assert selection["init"] == "deephq_steps"
    codec = build_codec(**selection["architecture"])
    assert codec.dequantiser.log_gains.shape == (8, 96)
    # every learned step-size and gain parameter is reached by the multiplier
    names = [n for n, _ in codec.named_parameters() if n.startswith(tuple(steps["lr_multipliers"]))]
    assert {n.split(".")[0] for n in names} == {"quantizer", "dequantiser"}
