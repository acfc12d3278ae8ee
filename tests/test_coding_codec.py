"""Real codec + container: round trips at every level, identity checks, checkpoints, fuzzing of
the whole decode path (entropy decoder included), determinism across processes and threads."""

from __future__ import annotations

import dataclasses
import random
import subprocess
import sys

import pytest
import torch

from coarse2fine.coding import (
    Bitstream,
    BitstreamError,
    CheckpointError,
    ResourceLimitError,
    compress_image,
    decode_bitstream,
    encode_image,
    estimated_bits,
    load_codec,
    parse_bitstream,
    truncate_to_level,
)
from conftest import save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "model.pt")


@pytest.fixture(scope="module")
def codec(checkpoint):
    torch.set_num_threads(1)
    return load_codec(checkpoint)


def smooth_image(height, width, seed=0):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, max(height // 8, 1), max(width // 8, 1), generator=g)
    return torch.nn.functional.interpolate(low, size=(height, width), mode="bilinear", align_corners=False).clamp(0, 1)


@pytest.mark.parametrize("size", [(64, 64), (37, 91), (130, 70)])
def test_every_level_decodes_to_the_encoders_latents(codec, size):
    x = smooth_image(*size)
    encoded = compress_image(codec, x)
    stream = parse_bitstream(encoded.data)
    assert stream.num_levels == codec.num_levels and (stream.header.height, stream.header.width) == size
    for level in range(1, codec.num_levels + 1):
        whole = decode_bitstream(codec, encoded.data, level)
        cut = decode_bitstream(codec, truncate_to_level(encoded.data, level))
        assert cut.level == level
        assert torch.equal(whole.latents, codec.prefix_latents(encoded.latents, level))
        assert torch.equal(whole.latents, cut.latents) and torch.equal(whole.image, cut.image)
        assert whole.image.shape == (1, 3, *size)


def test_estimate_is_beside_the_actual_size(codec):
    x = smooth_image(128, 128)
    bits = estimated_bits(codec, x)
    sizes = parse_bitstream(encode_image(codec, x)).segment_sizes()
    assert len(bits) == len(sizes) and all(b > 0 for b in bits)
    assert all(s * 8 > 0.5 * b for s, b in zip(sizes, bits))


def test_wrong_model_fails_clearly(codec, tmp_path):
    other = load_codec(save_tiny_checkpoint(tmp_path / "other.pt", seed=1))
    data = encode_image(codec, smooth_image(64, 64))
    with pytest.raises(BitstreamError, match="wrong model"):
        decode_bitstream(other, data)


def test_level_outside_stream(codec):
    data = truncate_to_level(encode_image(codec, smooth_image(64, 64)), 1)
    with pytest.raises(BitstreamError, match="level 2 is not in this stream"):
        decode_bitstream(codec, data, 2)


def test_checkpoint_with_shipped_tables_decodes_the_same(codec, tmp_path):
    torch.save({"codec_config": codec.config, "state_dict": codec.state_dict()}, tmp_path / "ready.pt")
    shipped = load_codec(tmp_path / "ready.pt")
    data = encode_image(codec, smooth_image(64, 64))
    assert torch.equal(decode_bitstream(shipped, data).image, decode_bitstream(codec, data).image)


def test_checkpoint_errors(tmp_path, codec, checkpoint):
    with pytest.raises(CheckpointError, match="not found"):
        load_codec(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(checkpoint.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="cannot read"):
        load_codec(corrupt)
    torch.save({"weights": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="no codec_config"):
        load_codec(tmp_path / "other.pt")
    torch.save(
        {"codec_config": dict(codec.config, M=32, level_blocks=[8, 8, 16]), "state_dict": codec.state_dict()},
        tmp_path / "mismatch.pt",
    )
    with pytest.raises(CheckpointError, match="do not fit"):
        load_codec(tmp_path / "mismatch.pt")


def _cdf(state, name="entropy_bottleneck"):
    return state[f"{name}._quantized_cdf"]


# Each mutation of a checkpoint that torch.load(weights_only=True) accepts and that would reach
# CompressAI's rANS coder (a crash, a division by zero or an endless encode before these
# checks), with the named error it must give instead.
TABLE_MUTATIONS = [
    ("reversed CDF", lambda s: _cdf(s)[0].copy_(_cdf(s)[0].flip(0)), "CDF starts at"),
    ("zero CDF", lambda s: _cdf(s).zero_(), "CDF ends at 0, not 65536"),
    ("flat CDF step", lambda s: _cdf(s)[0, 2].copy_(_cdf(s)[0, 1]), "does not rise at symbol 1"),
    (
        "CDF length beyond the table",
        lambda s: s["entropy_bottleneck._cdf_length"].fill_(10**6),
        "CDF length 1000000 outside",
    ),
    ("CDF length too short", lambda s: s["entropy_bottleneck._cdf_length"].fill_(1), "CDF length 1 outside"),
    ("huge offset", lambda s: s["entropy.gaussian_conditional._offset"].fill_(-(2**30)), "offset -1073741824 outside"),
    (
        "one-dimensional CDF",
        lambda s: s.update({"entropy_bottleneck._quantized_cdf": _cdf(s).reshape(-1)}),
        "of 2 dimensions",
    ),
    (
        "lengths for other tables",
        lambda s: s.update({"entropy_bottleneck._cdf_length": s["entropy_bottleneck._cdf_length"][:3]}),
        "3 CDF lengths and 16 offsets for 16 tables",
    ),
    (
        "fewer tables than channels",
        lambda s: s.update(
            {
                k: s[k][:4]
                for k in [
                    "entropy_bottleneck._quantized_cdf",
                    "entropy_bottleneck._cdf_length",
                    "entropy_bottleneck._offset",
                ]
            }
        ),
        "4 CDF tables for 16 channels",
    ),
    (
        "scale table of other length",
        lambda s: s.update(
            {"entropy.gaussian_conditional.scale_table": s["entropy.gaussian_conditional.scale_table"][:-5]}
        ),
        "scales for",
    ),
    ("scales not rising", lambda s: s["entropy.gaussian_conditional.scale_table"][3].fill_(0.0), "finite, positive"),
    (
        "NaN weight",
        lambda s: next(v for k, v in s.items() if k.endswith("weight")).view(-1)[0].fill_(float("nan")),
        "holds NaN or infinite",
    ),
    ("non-tensor entry", lambda s: s.update({"g_a.0.weight": [1, 2]}), "is a list, not a tensor"),
]


@pytest.mark.parametrize("what, mutation, message", TABLE_MUTATIONS, ids=[m[0] for m in TABLE_MUTATIONS])
def test_checkpoint_tables_and_weights_are_checked_before_coding(tmp_path, codec, what, mutation, message):
    state = {k: v.clone() for k, v in codec.state_dict().items()}
    mutation(state)
    torch.save({"codec_config": codec.config, "state_dict": state, "entropy_tables_ready": True}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=message):
        load_codec(tmp_path / "bad.pt")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"N": -1}, "codec_config.N: -1 is less than the minimum of 1"),
        ({"N": 131072}, "codec_config.N: 131072 is greater than the maximum of 1024"),
        ({"level_blocks": "888"}, "codec_config.level_blocks: '888' is not of type 'array'"),
        ({"name": "lzma"}, "codec_config.name: unknown codec 'lzma'"),
        ({"dropout": 0.1}, "'dropout' was unexpected"),
    ],
)
def test_checkpoint_codec_config_is_checked_against_its_schema(tmp_path, codec, change, message):
    torch.save({"codec_config": {**codec.config, **change}, "state_dict": codec.state_dict()}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=message):
        load_codec(tmp_path / "bad.pt")


def test_declared_size_beyond_the_pixel_limit_is_refused_before_decoding(codec):
    stream = parse_bitstream(encode_image(codec, smooth_image(64, 64)))
    big = Bitstream(dataclasses.replace(stream.header, width=8192, height=8192), stream.hyper, stream.levels).to_bytes()
    with pytest.raises(ResourceLimitError, match="8192x8192 = 67108864 pixels exceeds the limit of 16777216"):
        decode_bitstream(codec, big)
    with pytest.raises(ResourceLimitError, match="exceeds the limit of 4000"):
        decode_bitstream(codec, encode_image(codec, smooth_image(64, 64)), max_pixels=4000)
    with pytest.raises(ResourceLimitError, match="image to encode: 100x50 = 5000 pixels exceeds the limit of 4000"):
        encode_image(codec, smooth_image(50, 100), max_pixels=4000)
    with pytest.raises(ValueError, match="max_pixels must be an integer"):
        decode_bitstream(codec, encode_image(codec, smooth_image(64, 64)), max_pixels=2**40)


def test_payload_longer_than_its_symbols_can_need_is_refused(codec):
    stream = parse_bitstream(encode_image(codec, smooth_image(64, 64)))
    padded = Bitstream(stream.header, stream.hyper + bytes(16 << 20), stream.levels).to_bytes()
    with pytest.raises(
        BitstreamError, match="hyper-latent segment: payload of 167772.. bytes is longer than its 16 symbols"
    ):
        decode_bitstream(codec, padded)


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    data = bytearray(data)
    op = rng.randrange(3)
    if op == 0:
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif op == 1:
        del data[rng.randrange(len(data)) :]
    else:
        other = rng.choice(others)
        cut = rng.randrange(min(len(data), len(other)))
        data = data[:cut] + other[cut:]
    return bytes(data)


def garbage_stream(rng: random.Random, stream: Bitstream) -> bytes:
    """Valid structure and CRCs around garbage payloads: what the entropy decoder must survive."""

    def garbage():
        n = 4 * rng.randint(2, 600)
        kind = rng.random()
        return b"\xff" * n if kind < 0.25 else b"\x00" * n if kind < 0.35 else rng.randbytes(n)

    levels = tuple(garbage() if rng.random() < 0.7 else p for p in stream.levels[: rng.randint(1, len(stream.levels))])
    return Bitstream(stream.header, garbage() if rng.random() < 0.5 else stream.hyper, levels).to_bytes()


def run_fuzz(codec, mutations: int, garbage: int, seed: int) -> None:
    rng = random.Random(seed)
    streams = [encode_image(codec, smooth_image(64 + 32 * i, 96, seed=i)) for i in range(3)]
    for _ in range(mutations):
        case = mutate(rng, rng.choice(streams), streams)
        try:
            decode_bitstream(codec, case)
        except BitstreamError:
            pass
    for _ in range(garbage):
        data = garbage_stream(rng, parse_bitstream(rng.choice(streams)))
        try:
            out = decode_bitstream(codec, data)
        except BitstreamError as exc:
            # a garbage payload longer than its symbols can need is refused before decoding
            assert "longer than its" in str(exc)
            continue
        assert torch.isfinite(out.image).all() and out.image.min() >= 0 and out.image.max() <= 1


@pytest.mark.timeout(120)
def test_fuzz_decode_default(codec):
    run_fuzz(codec, mutations=300, garbage=100, seed=0)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_fuzz_decode_many(codec):
    run_fuzz(codec, mutations=10000, garbage=2000, seed=1)


ENCODE = """
import sys, torch
torch.set_num_threads(1)
from coarse2fine.coding import compress_image, load_codec
x = torch.load(sys.argv[2])
enc = compress_image(load_codec(sys.argv[1]), x)
open(sys.argv[3], "wb").write(enc.data)
torch.save(enc.latents, sys.argv[3] + ".latents")
"""
DECODE = """
import sys, torch
torch.set_num_threads(2)
from coarse2fine.coding import decode_bitstream, load_codec
codec = load_codec(sys.argv[1])
data = open(sys.argv[2], "rb").read()
out = [decode_bitstream(codec, data, k) for k in range(1, codec.num_levels + 1)]
torch.save({"images": [o.image for o in out], "latents": [o.latents for o in out]}, sys.argv[3])
"""


@pytest.mark.slow  # two fresh interpreters: about 30 s on 2 busy cores
@pytest.mark.timeout(300)
def test_encode_in_one_process_decode_in_another_with_other_threads(codec, checkpoint, tmp_path):
    x = smooth_image(96, 160, seed=3)
    torch.save(x, tmp_path / "x.pt")
    stream = tmp_path / "x.c2f"
    subprocess.run([sys.executable, "-c", ENCODE, str(checkpoint), str(tmp_path / "x.pt"), str(stream)], check=True)
    subprocess.run([sys.executable, "-c", DECODE, str(checkpoint), str(stream), str(tmp_path / "out.pt")], check=True)
    remote = torch.load(tmp_path / "out.pt")
    encoder_latents = torch.load(str(stream) + ".latents")
    data = stream.read_bytes()
    assert data == encode_image(codec, x)  # the encoder is deterministic too
    for level in range(1, codec.num_levels + 1):
        local = decode_bitstream(codec, data, level)
        assert torch.equal(remote["latents"][level - 1], codec.prefix_latents(encoder_latents, level))
        assert torch.equal(remote["images"][level - 1], local.image)


def test_decoding_on_two_threads_gives_the_encoder_latents_at_every_level(codec):
    # In-process twin of the test above, in the default run: the pipeline encodes and checks on
    # one thread each, so a thread-count dependence would otherwise go unseen there.
    x = smooth_image(96, 160, seed=4)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        encoded = compress_image(codec, x)
        torch.set_num_threads(2)
        decoded = [decode_bitstream(codec, encoded.data, k) for k in range(1, codec.num_levels + 1)]
    finally:
        torch.set_num_threads(threads)
    for level, out in enumerate(decoded, 1):
        assert torch.equal(out.latents, encoded.level_latents[level - 1])
