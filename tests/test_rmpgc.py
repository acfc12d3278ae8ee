"""RMPGC: importance map, nested masks, training outputs, rate-controlled coding through the
.c2f container (bit-exact prefixes, thread independence, target rates) and corrupt side info."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFilter

import coarse2fine.models.rmpgc as rmpgc
from coarse2fine.coding.codec_io import compress_image, decode_bitstream, to_uint8
from coarse2fine.coding.errors import BitstreamError
from coarse2fine.coding.identity import compute_model_identity
from coarse2fine.container import Bitstream, parse_bitstream, truncate_to_level
from coarse2fine.data.manifest import read_manifest
from coarse2fine.models import build_codec
from coarse2fine.models.loss import C2FLoss

REPO = Path(__file__).resolve().parents[1]
SMALL = {"N": 16, "M": 24}
TARGETS = [0.1, 0.2, 0.35, 0.6]


def _synthetic_photo(size: int = 512) -> Image.Image:
    """A natural-looking stand-in: smooth sky/ground gradients, blurred shapes, sensor noise."""
    rng = np.random.default_rng(0)
    rows = np.linspace(0, 1, size)[:, None, None]
    base = (1 - rows) * np.array([120, 170, 230]) + rows * np.array([70, 110, 40])
    image = Image.fromarray(np.broadcast_to(base, (size, size, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.integers(0, size - 64, 2)
        w, h = rng.integers(24, 160, 2)
        draw.ellipse([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    image = image.filter(ImageFilter.GaussianBlur(2))
    noisy = np.asarray(image, dtype=np.float64) + rng.normal(0, 6, (size, size, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def photo() -> tuple[torch.Tensor, str]:
    """A real 512x512 photo: the sample set's val split, else the foolbox wheel's ImageNet
    photos, else a synthetic natural-looking image. Returns (image, where it came from)."""
    manifest = REPO / "data" / "sample" / "manifest.csv"
    image, source = None, None
    if manifest.is_file():
        table, root = read_manifest(manifest, splits=("val",))
        for path in table["path"]:
            if (Path(root) / path).is_file():
                image, source = Image.open(Path(root) / path), f"sample val {path}"
                break
    if image is None and importlib.util.find_spec("foolbox") is not None:
        spec = importlib.util.find_spec("foolbox")
        files = sorted((Path(list(spec.submodule_search_locations)[0]) / "data").glob("imagenet_*.jpg"))
        if files:
            image, source = Image.open(files[0]), f"foolbox {files[0].name}"
    if image is None:
        image, source = _synthetic_photo(), "synthetic"
    image = image.convert("RGB").resize((512, 512), Image.BICUBIC) if image.size != (512, 512) else image.convert("RGB")
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    return x, source


def informative(codec):
    """Random weights whose latent costs about 0.9 bpp on the photo. A random analysis
    transform gives a near-zero latent that codes to almost nothing, which leaves no rate to
    control; scaling its output and widening the hyperprior scales gives a rate spread over
    positions like a trained model's. Returns the codec, tables updated."""
    with torch.no_grad():
        codec.g_a[-1].weight.mul_(40)
        codec.g_a[-1].bias.mul_(40)
        codec.h_s[-1].bias[codec.M :].add_(0.7)
    codec.update(force=True)
    return codec.eval()


def make_codec(**kwargs):
    torch.manual_seed(0)
    return informative(build_codec("rmpgc", **{**SMALL, "target_bpp": TARGETS, **kwargs}))


@pytest.fixture(scope="module")
def image():
    return photo()


@pytest.fixture(scope="module")
def encoded(image):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        codec = make_codec()
        x, _ = image
        return codec, x, compress_image(codec, x)
    finally:
        torch.set_num_threads(threads)


def test_importance_map_shape_and_range(image, one_torch_thread):
    codec = make_codec(complexity_weight=0.5)
    x = image[0][..., :256, :256]
    with torch.no_grad():
        y = codec.g_a(x)
    semantic = codec.semantic_map(x, y.shape[-2:])
    importance = codec.importance_map(x, y)
    assert semantic.shape == importance.shape == (1, 1, 16, 16)
    assert semantic.min() >= 0 and semantic.max() <= 1 and semantic.max() > 0.5  # a real CAM, not flat
    assert importance.min() >= 0 and importance.max() <= 2  # Eq. 12: salient in [1, 2], the rest in (0, 1)
    assert not importance.requires_grad
    continuous = make_codec(complexity_weight=0.5, importance="continuous").importance_map(x, y)
    assert continuous.max() <= 1.5


def test_blend_formula_and_complexity():
    torch.manual_seed(1)
    semantic, complexity = torch.rand(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    e = 0.3
    expected = (1 + e) * semantic + torch.sigmoid(complexity) * (1 - semantic)
    assert torch.allclose(rmpgc.blend_importance(semantic, complexity, e), expected)
    ones, zeros = torch.ones_like(semantic), torch.zeros_like(semantic)
    assert torch.allclose(rmpgc.blend_importance(ones, complexity, e), ones * (1 + e))
    assert torch.allclose(rmpgc.blend_importance(zeros, complexity, e), torch.sigmoid(complexity))
    y = torch.randn(1, 8, 4, 4)
    y[..., 0, 0] *= 10  # the busiest position
    v = rmpgc.complexity_map(y)
    assert v.shape == (1, 1, 4, 4)
    assert abs(v.mean().item()) < 1e-5 and abs(v.std(unbiased=False).item() - 1) < 1e-4
    assert v.flatten().argmax().item() == 0


def test_masks_nested_and_ranked():
    importance = torch.rand(2, 1, 5, 6, generator=torch.Generator().manual_seed(3))
    counts = [[3, 10, 10, 30], [0, 7, 20, 25]]
    masks = rmpgc.nested_masks(importance, counts)
    for b in range(2):
        for k, mask in enumerate(masks):
            assert int(mask[b].sum()) == counts[b][k]
            if k:
                assert bool((masks[k - 1][b] <= mask[b]).all())  # nested
        inside, outside = importance[b][masks[1][b]], importance[b][~masks[1][b]]
        assert inside.min() > outside.max()  # the most important positions first


def test_forward_training_outputs_and_loss(one_torch_thread):
    torch.manual_seed(0)
    codec = build_codec("rmpgc", **SMALL, target_bpp=TARGETS, feature_weight=0.1).train()
    x = torch.rand(2, 3, 128, 128)
    out = codec(x)
    assert len(out["x_hat"]) == len(out["likelihoods"]["y"]) == codec.num_levels == 4
    assert all(x_hat.shape == x.shape for x_hat in out["x_hat"])
    previous = torch.zeros_like(out["masks"][0])
    for mask, likelihoods in zip(out["masks"], out["likelihoods"]["y"]):
        assert bool((previous <= mask).all())
        new = (mask & ~previous).expand_as(likelihoods)
        assert bool((likelihoods[~new] == 1).all())  # segment k pays only for its new positions
        previous = mask
    assert bool(out["masks"][-1].all())  # the last training fraction is 1
    penalty = out["penalties"]["feature_match"]
    assert penalty.dim() == 0 and torch.isfinite(penalty) and penalty > 0
    level_maps = [np.zeros(1000, dtype=int)] * 3
    terms = C2FLoss([0.01] * 4, [1] * 4, [0] * 4, level_maps=level_maps)(out, x)
    assert math.isfinite(terms["loss"].item()) and terms["feature_match"] == pytest.approx(penalty.item())
    terms["loss"].backward()
    grad = codec.g_a[0].weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_codec_identity_and_classifier_outside_state(one_torch_thread):
    codec = build_codec("rmpgc", **SMALL, target_bpp=[0.2, 0.4])
    keys = set(codec.state_dict())
    codec.importance_map(torch.rand(1, 3, 64, 64), torch.randn(1, 24, 4, 4))  # loads the classifier
    assert codec._classifier_module is not None
    assert set(codec.state_dict()) == keys  # the classifier is not part of the model's state
    assert codec.level_blocks == [24, 24] and codec.num_levels == 2
    rebuilt = build_codec(**codec.config)
    rebuilt.load_state_dict(codec.state_dict())
    codec.update(force=True)
    rebuilt.update(force=True)
    assert compute_model_identity(rebuilt) == compute_model_identity(codec)
    with pytest.raises(ValueError, match="GAN"):
        build_codec("rmpgc", **SMALL, gan=True)
    with pytest.raises(ValueError, match="increasing"):
        build_codec("rmpgc", **SMALL, target_bpp=[0.3, 0.2])


def test_every_prefix_decodes_bit_exact(encoded, one_torch_thread):
    codec, x, enc = encoded
    stream = parse_bitstream(enc.data)
    assert stream.num_levels == 4
    for level in range(1, 5):
        decoded = decode_bitstream(codec, enc.data, level)
        assert torch.equal(decoded.latents, enc.level_latents[level - 1])
        cut = decode_bitstream(codec, truncate_to_level(enc.data, level))
        assert torch.equal(cut.latents, decoded.latents) and torch.equal(cut.image, decoded.image)
    # later prefixes refine: more positions leave the hyperprior mean
    changed = [int((enc.level_latents[k] != enc.level_latents[0]).any(1).sum()) for k in range(4)]
    assert changed[0] == 0 and changed == sorted(changed) and changed[-1] > 0


def test_decoding_on_two_threads_matches_one(encoded):
    codec, _, enc = encoded
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = decode_bitstream(codec, enc.data)
        torch.set_num_threads(2)
        two = decode_bitstream(codec, enc.data)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one.latents, two.latents) and torch.equal(two.latents, enc.latents)
    assert torch.equal(to_uint8(one.image), to_uint8(two.image))


def test_actual_rate_meets_every_target(encoded, image, one_torch_thread):
    codec, x, enc = encoded
    pixels = x.shape[-1] * x.shape[-2]
    sizes = parse_bitstream(enc.data).segment_sizes()
    actual = [8 * size / pixels for size in sizes]
    for target, bpp in zip(TARGETS, actual):
        assert abs(bpp - target) <= 0.10 * target, (image[1], actual)
    report = codec.compress(x)["rate_control"][0]
    assert [r["status"] for r in report] == ["ok"] * 4
    assert [r["bpp"] for r in report] == pytest.approx(actual)


def test_rate_over_the_original_pixels(image, one_torch_thread):
    codec = make_codec(target_bpp=[0.2, 0.5])
    x = image[0][..., :380, :500]
    padded = torch.nn.functional.pad(x, (0, 12, 0, 4), mode="replicate")
    report = codec.compress(padded, pixels=380 * 500)["rate_control"][0]
    assert [r["status"] for r in report] == ["ok", "ok"]
    assert all(abs(r["bpp"] - r["target_bpp"]) <= 0.1 * r["target_bpp"] for r in report)


def test_target_below_the_floor_codes_no_positions(image, one_torch_thread):
    codec = make_codec(target_bpp=[0.001, 0.3])
    x = image[0][..., :256, :256]
    enc = codec.compress(x)
    first, second = enc["rate_control"][0]
    assert first["status"] == "below_floor" and first["new_positions"] == 0
    assert second["status"] == "ok" and second["new_positions"] > 0
    assert len(enc["strings"][1][0]) == rmpgc.SEGMENT_HEAD.size
    out = codec.decompress([s[:] for s in enc["strings"]], enc["shape"])
    assert torch.equal(out["y_hat"], enc["y_hat_levels"][1])


def _with_level(data: bytes, level: int, payload: bytes) -> bytes:
    """The stream with level `level`'s payload replaced, CRCs recomputed (valid container)."""
    stream = parse_bitstream(data)
    levels = list(stream.levels)
    levels[level - 1] = payload
    return Bitstream(stream.header, stream.hyper, tuple(levels)).to_bytes()


def test_corrupt_side_information_raises(encoded, one_torch_thread):
    codec, _, enc = encoded
    payload = parse_bitstream(enc.data).levels[0]
    count, mask_len, symbol_len = rmpgc.SEGMENT_HEAD.unpack_from(payload, 0)
    assert 0 < count and mask_len > 0  # the first segment codes a map
    head = rmpgc.SEGMENT_HEAD.size
    rest = payload[head:]
    bad = {
        "more positions than the latent": rmpgc.SEGMENT_HEAD.pack(10**6, mask_len, symbol_len) + rest,
        "declared lengths past the end": rmpgc.SEGMENT_HEAD.pack(count, mask_len, symbol_len + 10**8) + rest,
        "odd-sized mask payload": rmpgc.SEGMENT_HEAD.pack(count, mask_len - 2, symbol_len + 2) + rest,
        "zero context frequency": payload[:head] + bytes(2) + payload[head + 2 :],
        "wrong new-position count": rmpgc.SEGMENT_HEAD.pack(count + 1, mask_len, symbol_len) + rest,
    }
    for what, corrupt in bad.items():
        with pytest.raises(BitstreamError):
            decode_bitstream(codec, _with_level(enc.data, 1, corrupt), 1)
    # The container reader hands the codec each payload with zero padding after it, so a length
    # that overshoots by less than the padding reads zeros; on the bare payload it is caught.
    stream = parse_bitstream(enc.data)
    short = rmpgc.SEGMENT_HEAD.pack(count, mask_len, symbol_len + 4) + rest
    with pytest.raises(BitstreamError, match="declares"):
        codec.decompress([[stream.hyper], [short]], (8, 8))
    # random damage anywhere in a segment (CRCs made valid again): a BitstreamError or an
    # image, never a crash or a hang
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "image": 0}
    for _ in range(25):
        level = int(rng.integers(1, 5))
        damaged = bytearray(stream.levels[level - 1])
        for i in rng.integers(0, min(len(damaged), 64), 2):
            damaged[i] = int(rng.integers(0, 256))
        try:
            decoded = decode_bitstream(codec, _with_level(enc.data, level, bytes(damaged)))
        except BitstreamError:
            outcomes["error"] += 1
        else:
            outcomes["image"] += 1
            assert decoded.image.shape == (1, 3, 512, 512) and torch.isfinite(decoded.image).all()
    assert outcomes["error"] > 0


def test_otsu_separates_two_populations_and_maximises_the_between_class_variance():
    from coarse2fine.models.rmpgc import otsu_masks

    g = torch.Generator().manual_seed(0)
    low, high = 0.2 + 0.05 * torch.rand(40, generator=g), 0.8 + 0.05 * torch.rand(24, generator=g)
    values = torch.cat([low, high])[torch.randperm(64, generator=g)]
    mask = otsu_masks(values.view(1, 1, 8, 8))[0, 0].flatten()
    assert torch.equal(mask, values > 0.5)
    # exhaustively: no split of the 256-bin histogram has a larger between-class variance
    maps = torch.rand(1, 1, 9, 7, generator=g) ** 2
    chosen = otsu_masks(maps)[0, 0]
    x = maps.flatten().double()
    bins = torch.clamp((x * 256).long(), max=255)

    def between(cut):  # classes: bins < cut, bins >= cut
        a, b = x[bins < cut], x[bins >= cut]
        if not len(a) or not len(b):
            return 0.0
        ca, cb = (bins[bins < cut].double() + 0.5) / 256, (bins[bins >= cut].double() + 0.5) / 256
        wa, wb = len(a) / len(x), len(b) / len(x)
        return wa * wb * (ca.mean() - cb.mean()).item() ** 2

    best = max(range(1, 256), key=between)
    assert between(int(((maps.flatten()[chosen.flatten()].min()) * 256).long())) == pytest.approx(between(best))
    assert not otsu_masks(torch.full((1, 1, 4, 4), 0.3)).any()  # a flat map has no salient part


def test_paper_importance_puts_salient_positions_first_by_saliency_then_the_rest_by_complexity():
    from coarse2fine.models.rmpgc import otsu_masks, paper_importance, ranking

    g = torch.Generator().manual_seed(1)
    saliency = torch.rand(1, 1, 6, 6, generator=g)
    complexity = torch.randn(1, 1, 6, 6, generator=g)
    order = ranking(paper_importance(saliency, complexity))[0]
    salient = otsu_masks(saliency)[0, 0].flatten()
    n = int(salient.sum())
    assert 0 < n < 36 and bool(salient[order[:n]].all())
    salient_positions = salient.nonzero().flatten()
    by_saliency = salient_positions[torch.argsort(-saliency.flatten()[salient_positions].double(), stable=True)]
    assert torch.equal(order[:n], by_saliency)
    rest = order[n:]
    assert bool((complexity.flatten()[rest][:-1] >= complexity.flatten()[rest][1:]).all())


def test_base_layer_codes_its_channels_everywhere_in_segment_1_and_masks_the_rest(image, one_torch_thread):
    codec = make_codec(base_channels=8, target_bpp=[0.3, 0.5, 0.8])
    x = image[0][..., :256, :256]
    enc = compress_image(codec, x)
    levels = enc.level_latents
    means = codec.decompress_hyper([parse_bitstream(enc.data).hyper], (4, 4))[0].float()
    # segment 1: every position of the 8 base channels left the mean; enhancement only where masked in
    assert bool((levels[0][:, :8] == enc.latents[:, :8]).all())
    enhanced = (levels[0][:, 8:] != means[:, 8:]).any(1)
    assert 0 < int(enhanced.sum()) < enhanced.numel()
    for level in range(1, 4):
        decoded = decode_bitstream(codec, enc.data, level)
        assert torch.equal(decoded.latents, levels[level - 1])
    report = codec.compress(x)["rate_control"][0]
    assert all(abs(r["bpp"] - r["target_bpp"]) <= 0.1 * r["target_bpp"] or r["status"] != "ok" for r in report)
    # training: segment 1's likelihoods cover the base channels everywhere
    codec.train()
    out = codec(x)
    codec.eval()
    first = out["likelihoods"]["y"][0]
    assert bool((first[:, :8] != 1).all()) and bool((out["likelihoods"]["y"][1][:, :8] == 1).all())
    with pytest.raises(ValueError, match="base_channels: 24 must be below M = 24"):
        make_codec(base_channels=24)


def test_a_corrupt_base_layer_length_is_named(image, one_torch_thread):
    codec = make_codec(base_channels=8, target_bpp=[0.3, 0.5])
    enc = compress_image(codec, image[0][..., :128, :128])
    first = bytearray(parse_bitstream(enc.data).levels[0])
    first[:4] = (0xFFFFFFF0).to_bytes(4, "little")  # beyond the segment and its guard padding
    with pytest.raises(BitstreamError, match="segment 1: a base layer of"):
        decode_bitstream(codec, _with_level(enc.data, 1, bytes(first)), 1)


def test_feature_matching_on_four_scales_with_the_papers_weights():
    """The paper's four feature layers (strides 2 .. 16, weighted 1/32 .. 1/4) on the classifier:
    zero for the original itself, positive for a degraded copy, and `last` keeps one map."""
    from coarse2fine.models.gradcam import PYRAMID_STRIDES, pyramid_features

    codec = build_codec("rmpgc", N=16, M=24, target_bpp=[0.2, 0.5], classifier_size=64)
    classifier = codec.classifier_on(torch.device("cpu"))
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    maps = pyramid_features(classifier, x, 64)
    assert [64 // m.shape[-1] for m in maps] == list(PYRAMID_STRIDES)
    assert codec.feature_matching(x, [x]).item() == 0.0
    assert codec.feature_matching(x, [x * 0.5]).item() > 0.0
    last = build_codec("rmpgc", N=16, M=24, target_bpp=[0.2, 0.5], classifier_size=64, feature_layers="last")
    assert last.config["feature_layers"] == "last" and last.feature_matching(x, [x * 0.5]).item() > 0.0


def test_paper_training_conditions_train_base_salient_and_whole_latent(image, one_torch_thread):
    """Section V: the decoder trained under U = 0 (the base layer), U = B (the salient positions
    of the Otsu mask) and U = 1 (everything), one reconstruction and one lambda each."""
    codec = make_codec(base_channels=8, train_conditions="paper", conditioned_decoder=True).train()
    assert codec.training_levels == 3 and codec.num_levels == 4  # coding keeps its four segments
    x = image[0][..., :128, :128]
    out = codec(x)
    none, salient, whole = out["masks"]
    assert not none.any() and whole.all()
    assert bool((salient == (out["importance"] >= 1)).all()) and 0 < int(salient.sum()) < salient.numel()
    first, second, third = out["likelihoods"]["y"]
    assert bool((first[:, :8] != 1).all()) and bool((first[:, 8:] == 1).all())  # U = 0: the base layer only
    assert bool((second[:, 8:][salient.expand_as(second[:, 8:])] != 1).all())
    assert bool((second[:, :8] == 1).all()) and bool((third[:, :8] == 1).all())
    level_maps = [np.zeros(1000, dtype=int)] * 2
    terms = C2FLoss([5e-4, 5e-4, 7e-3], [1] * 3, [0] * 3, level_maps=level_maps)(out, x)
    terms["loss"].backward()
    grad = codec.condition.weight.grad
    assert grad is not None and grad.abs().sum() > 0  # the decoder learns from U
    with pytest.raises(ValueError, match="base_channels > 0"):
        make_codec(train_conditions="paper")


def test_a_conditioned_decoder_decodes_every_prefix_bit_exact_and_reads_the_mask(image, one_torch_thread):
    codec = make_codec(base_channels=8, train_conditions="paper", conditioned_decoder=True)
    with torch.no_grad():  # a decoder that does depend on U
        codec.condition.weight.normal_(0, 0.5)
    codec.update(force=True)
    x = image[0][..., :128, :128]
    enc = compress_image(codec, x)
    images = []
    for level in range(1, 5):
        decoded = decode_bitstream(codec, enc.data, level)
        assert torch.equal(decoded.latents, enc.level_latents[level - 1])
        images.append(decoded.image)
    # U (here: the positions segment 4 brought) changes what the same latent decodes to
    unconditioned = codec.synthesise(enc.level_latents[-1])
    assert not torch.allclose(unconditioned, images[-1], atol=1e-3)
