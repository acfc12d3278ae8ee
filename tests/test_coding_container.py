"""The .c2f container without a model: layout, every named error, truncation, splicing, fuzzing."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from coarse2fine.coding import MAGIC, Bitstream, BitstreamError, Header, parse_bitstream, truncate_to_level
from coarse2fine.container import MAX_SIDE


def make_stream(seed: int = 0, levels: int = 3, total: int = 3) -> Bitstream:
    rng = random.Random(seed)
    header = Header(rng.randbytes(16), 100 + seed, 70, 64, tuple([8] * total))
    payloads = [rng.randbytes(4 * rng.randint(2, 40)) for _ in range(levels + 1)]
    return Bitstream(header, payloads[0], tuple(payloads[1:]))


def reheader(data: bytes, **fields) -> bytes:
    """The stream with header fields replaced and the header CRC made valid again."""
    fmt = "<4sBB16sIIHB"
    names = ["magic", "version", "flags", "model_id", "width", "height", "pad_multiple", "levels"]
    values = dict(zip(names, struct.unpack_from(fmt, data)))
    values.update(fields)
    end = struct.calcsize(fmt) + 2 * values["levels"]
    head = struct.pack(fmt, *(values[n] for n in names)) + data[struct.calcsize(fmt) : end]
    return head + struct.pack("<I", zlib.crc32(head)) + data[end + 4 :]


def test_round_trip_and_sizes():
    stream = make_stream()
    data = stream.to_bytes()
    assert data.startswith(MAGIC)
    parsed = parse_bitstream(data)
    assert parsed == stream
    assert parsed.segment_sizes()[-1] == len(data)


def test_cut_at_every_level_boundary_is_a_valid_lower_level_stream():
    stream = make_stream()
    data = stream.to_bytes()
    for level, size in enumerate(stream.segment_sizes(), 1):
        cut = parse_bitstream(data[:size])
        assert cut.num_levels == level and cut.levels == stream.levels[:level]
        assert truncate_to_level(data, level) == data[:size]
    with pytest.raises(BitstreamError, match="level 4 is not in this stream"):
        truncate_to_level(data, 4)


@pytest.mark.parametrize("cut", [1, 4, 9])
def test_cut_inside_a_segment_is_truncated(cut):
    data = make_stream().to_bytes()
    boundary = make_stream().segment_sizes()[1]
    with pytest.raises(BitstreamError, match="truncated"):
        parse_bitstream(data[: boundary + cut])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: b"GIF8" + d[4:], "bad magic"),
        (lambda d: b"", "bad magic"),
        (lambda d: d[:10], "truncated header"),
        (lambda d: reheader(d, version=2), "unsupported format version 2"),
        (lambda d: reheader(d, flags=1), "unsupported header flags"),
        (lambda d: reheader(d, width=0), "absurd image dimensions"),
        (lambda d: reheader(d, width=MAX_SIDE + 1), "absurd image dimensions"),
        (lambda d: reheader(d, width=16000, height=16000), "absurd image dimensions"),
        (lambda d: reheader(d, pad_multiple=0), "absurd pad multiple"),
        (lambda d: reheader(d, levels=0), "absurd level count"),
        (lambda d: d[:12] + bytes([d[12] ^ 1]) + d[13:], "header CRC mismatch"),
        (lambda d: d[:-1] + bytes([d[-1] ^ 0x80]), "CRC mismatch in level 3 segment"),
        (
            lambda d: d[: make_stream().segment_sizes()[-1] - len(make_stream().levels[-1]) - 4],
            "truncated level 3 segment: 4 bytes left",
        ),
    ],
)
def test_named_errors(mutate, message):
    with pytest.raises(BitstreamError, match=message):
        parse_bitstream(mutate(make_stream().to_bytes()))


def test_header_only_and_hyper_only_streams_are_refused():
    stream = make_stream()
    data = stream.to_bytes()
    header_bytes = len(stream.header.to_bytes())
    with pytest.raises(BitstreamError, match="no hyper-latent segment"):
        parse_bitstream(data[:header_bytes])
    with pytest.raises(BitstreamError, match="no level segment"):
        parse_bitstream(data[: header_bytes + 8 + len(stream.hyper)])


def test_segment_spliced_from_another_stream_fails_its_crc():
    a, b = make_stream(0), make_stream(0)
    b = Bitstream(a.header, a.hyper, (a.levels[0], b"\x01" * 12, a.levels[2]))
    da, db = a.to_bytes(), b.to_bytes()
    # Level 2 of b carries a valid CRC for b's prefix; put it into a with a's level 3 after it.
    start, end = a.segment_sizes()[0], b.segment_sizes()[1]
    spliced = da[:start] + db[start:end] + da[a.segment_sizes()[1] :]
    with pytest.raises(BitstreamError, match="CRC mismatch in level 3"):
        parse_bitstream(spliced)


def test_more_segments_than_levels_and_odd_payloads_are_refused():
    stream = make_stream(levels=2, total=2)
    data = stream.to_bytes()
    extra = data + data[-(8 + len(stream.levels[-1])) :]
    with pytest.raises(BitstreamError, match="after the last of the 2 level segments"):
        parse_bitstream(extra)
    with pytest.raises(BitstreamError, match="cannot be a rANS stream"):
        Bitstream(stream.header, b"\x00" * 10, stream.levels).to_bytes()


def fuzz_case(rng: random.Random, sources: list[Bitstream], index: int) -> bytes:
    """A mutation of sources[index]'s bytes."""
    streams = [source.to_bytes() for source in sources]
    data = bytearray(streams[index])
    op = rng.randrange(6)
    if op == 5:  # cut at a level boundary: a valid stream of fewer levels
        return bytes(data[: rng.choice(sources[index].segment_sizes())])
    if op == 0:  # flip bits
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif op == 1:  # truncate anywhere
        del data[rng.randrange(len(data)) :]
    elif op == 2:  # splice a slice of another stream in
        other = rng.choice(streams)
        i, j = sorted(rng.randrange(len(other)) for _ in range(2))
        k = rng.randrange(len(data))
        data[k : k + rng.randint(0, 64)] = other[i:j]
    elif op == 3:  # overwrite a length field region with extreme values
        i = rng.randrange(len(data))
        data[i : i + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x00\x80"])
    else:  # random bytes after a valid prefix
        del data[rng.randrange(len(data)) :]
        data += rng.randbytes(rng.randint(0, 100))
    return bytes(data)


def is_valid_prefix(parsed: Bitstream, source: Bitstream) -> bool:
    """The stream a mutation left is the source stream cut after one of its levels."""
    return (
        parsed.header == source.header
        and parsed.hyper == source.hyper
        and 1 <= parsed.num_levels <= source.num_levels
        and parsed.levels == source.levels[: parsed.num_levels]
    )


def run_fuzz(cases: int, seed: int) -> dict[str, int]:
    """Parse `cases` mutated streams: each must raise BitstreamError or parse to a valid prefix
    of the stream it was mutated from, level for level. Returns how many did which; fails on
    an accepted stream that is not a prefix and on any other exception."""
    rng = random.Random(seed)
    sources = [make_stream(s, levels=rng.randint(1, 3)) for s in range(8)]
    counts = {"prefix": 0, "named": 0}
    wrong, other = [], []
    for case in range(cases):
        index = rng.randrange(len(sources))
        data = fuzz_case(rng, sources, index)
        try:
            parsed = parse_bitstream(data)
        except BitstreamError:
            counts["named"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - the point: no other exception may escape
            other.append((case, f"{type(exc).__name__}: {exc}"))
            continue
        # an accepted stream is exactly the bytes of a level boundary cut of its source
        if is_valid_prefix(parsed, sources[index]) and parsed.to_bytes() == data:
            counts["prefix"] += 1
        else:
            wrong.append((case, len(data), parsed.num_levels))
    assert not other, f"exceptions other than BitstreamError: {other[:10]}"
    assert not wrong, f"accepted streams that are not a prefix of their source: {wrong[:10]}"
    assert counts["prefix"] + counts["named"] == cases
    return counts


def test_fuzz_container_default():
    counts = run_fuzz(500, seed=1)
    # both outcomes occur: cuts at a level boundary are accepted, corruption is refused by name
    assert counts["prefix"] > 0 and counts["named"] > 0, counts


@pytest.mark.slow
def test_fuzz_container_many():
    run_fuzz(20000, seed=2)
