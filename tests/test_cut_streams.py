"""A stream as its receiver gets it: cut anywhere, it decodes its longest complete, CRC-valid
prefix of levels (bit-exact against the uncut stream decoded at that level); a cut header or
hyper-latent is a named error, and so is corruption; `c2f truncate` writes what a sender with a
level or byte budget sends; `--strict` refuses a cut stream."""

from __future__ import annotations

import io
import json
import random

import pytest
import torch
from PIL import Image

from coarse2fine.cli import main
from coarse2fine.coding import (
    Bitstream,
    BitstreamError,
    Header,
    decode_bitstream,
    encode_image,
    levels_within,
    load_codec,
    parse_bitstream,
    parse_received,
    truncate_to_bytes,
    truncate_to_level,
)
from coarse2fine.stream_reader import StreamReader
from conftest import Trickle, save_tiny_checkpoint


def random_stream(seed: int = 0) -> bytes:
    rng = random.Random(seed)
    header = Header(rng.randbytes(16), 100, 70, 64, (8, 8, 8))
    payloads = [rng.randbytes(4 * rng.randint(2, 12)) for _ in range(4)]
    return Bitstream(header, payloads[0], tuple(payloads[1:])).to_bytes()


def complete_levels(sizes: list[int], cut: int) -> int:
    """The levels whose segments lie wholly within the first `cut` bytes."""
    return sum(1 for size in sizes if size <= cut)


# -- the container, without a model -----------------------------------------------------------------
def test_every_cut_position_keeps_the_complete_levels_or_names_what_is_missing():
    data = random_stream()
    sizes = parse_bitstream(data).segment_sizes()
    for cut in range(len(data) + 1):
        levels = complete_levels(sizes, cut)
        if levels == 0:
            with pytest.raises(BitstreamError, match="truncated|bad magic"):
                parse_received(data[:cut])
            continue
        received = parse_received(data[:cut])
        assert received.stream.to_bytes() == data[: sizes[levels - 1]]
        assert received.complete_bytes == sizes[levels - 1]
        if cut in sizes:
            assert received.cut is None
            continue
        assert received.cut.level == levels + 1 and received.cut.offset == sizes[levels - 1]
        assert received.cut.arrived == cut - sizes[levels - 1]
        assert received.cut.describe(3).startswith("level 1 of 3 complete" if levels == 1 else "levels 1-2 of 3")
        with pytest.raises(BitstreamError, match="truncated level"):
            parse_bitstream(data[:cut])  # the whole-stream parser still refuses a cut


def test_a_cut_header_or_hyper_latent_is_a_named_error():
    data = random_stream()
    stream = parse_bitstream(data)
    header = len(stream.header.to_bytes())
    with pytest.raises(BitstreamError, match="truncated header"):
        parse_received(data[:2])
    with pytest.raises(BitstreamError, match="truncated header"):
        parse_received(data[: header - 1])
    with pytest.raises(BitstreamError, match="no hyper-latent segment"):
        parse_received(data[:header])
    with pytest.raises(BitstreamError, match="truncated hyper-latent segment"):
        parse_received(data[: header + 9])
    with pytest.raises(BitstreamError, match="no level segment is complete"):
        parse_received(data[: stream.segment_sizes()[0] - 1])


def test_corruption_is_not_mistaken_for_a_cut():
    data = random_stream()
    sizes = parse_bitstream(data).segment_sizes()
    corrupt = bytearray(data[: sizes[1] + 5])
    corrupt[sizes[1] - 1] ^= 1  # inside level 2, which arrived whole
    with pytest.raises(BitstreamError, match="CRC mismatch in level 2 segment"):
        parse_received(bytes(corrupt))
    huge = bytearray(data)
    huge[sizes[1] : sizes[1] + 4] = (2**31).to_bytes(4, "little")  # level 3's length field
    with pytest.raises(BitstreamError, match="level 3 segment: declares"):
        parse_received(bytes(huge))


@pytest.mark.parametrize("piece", [1, 7])
def test_the_pipe_reader_agrees_with_the_file_parser_at_every_cut(piece):
    data = random_stream(1)
    sizes = parse_bitstream(data).segment_sizes()
    for cut in range(sizes[0], len(data) + 1):
        reader = StreamReader(Trickle(data[:cut], piece), allow_cut=True)
        levels = list(reader)
        received = parse_received(data[:cut])
        assert len(levels) == received.stream.num_levels and reader.cut == received.cut
    with pytest.raises(BitstreamError, match="truncated level 2 segment"):
        list(StreamReader(io.BytesIO(data[: sizes[0] + 3])))  # without allow_cut: refused


def test_a_byte_budget_keeps_the_whole_levels_that_fit():
    data = random_stream()
    stream = parse_bitstream(data)
    sizes = stream.segment_sizes()
    assert levels_within(stream, sizes[1]) == 2 and levels_within(stream, sizes[1] + 3) == 2
    assert truncate_to_bytes(data, sizes[2] - 1) == data[: sizes[1]]
    assert truncate_to_bytes(data, 10**6) == data
    with pytest.raises(BitstreamError, match=f"smallest valid prefix is {sizes[0]} bytes"):
        truncate_to_bytes(data, sizes[0] - 1)


# -- with a real (tiny, untrained) codec ----------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "model.pt")


@pytest.fixture(scope="module")
def codec(checkpoint):
    return load_codec(checkpoint)


def test_every_cut_position_decodes_to_the_pixels_of_its_longest_complete_level(codec, one_torch_thread):
    x = torch.rand(1, 3, 12, 20, generator=torch.Generator().manual_seed(0))
    data = encode_image(codec, x)
    sizes = parse_bitstream(data).segment_sizes()
    reference = {level: decode_bitstream(codec, data, level).image for level in range(1, len(sizes) + 1)}
    for cut in range(len(data) + 1):
        levels = complete_levels(sizes, cut)
        if levels == 0:
            with pytest.raises(BitstreamError, match="truncated|bad magic|no level segment"):
                decode_bitstream(codec, data[:cut], allow_cut=True)
            continue
        decoded = decode_bitstream(codec, data[:cut], allow_cut=True)
        assert decoded.level == levels and (decoded.cut is None) == (cut in sizes)
        assert torch.equal(decoded.image, reference[levels]), f"cut at {cut} of {len(data)} bytes"


def test_a_level_beyond_the_cut_is_refused_with_what_was_lost(codec):
    data = encode_image(codec, torch.rand(1, 3, 12, 20, generator=torch.Generator().manual_seed(1)))
    sizes = parse_bitstream(data).segment_sizes()
    with pytest.raises(BitstreamError, match=r"holds levels 1..1; level 1 of 3 complete"):
        decode_bitstream(codec, data[: sizes[1] - 1], level=2, allow_cut=True)
    with pytest.raises(BitstreamError, match="truncated level 2 segment"):
        decode_bitstream(codec, data[: sizes[1] - 1])  # without allow_cut


# -- the command line ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stream_file(tmp_path_factory, checkpoint):
    folder = tmp_path_factory.mktemp("cut")
    rng = torch.Generator().manual_seed(2)
    low = torch.rand(3, 5, 7, generator=rng)
    pixels = torch.nn.functional.interpolate(low[None], size=(40, 56), mode="bilinear")[0]
    Image.fromarray((pixels.permute(1, 2, 0) * 255).round().byte().numpy()).save(folder / "photo.png")
    assert main(["encode", str(folder / "photo.png"), "-o", str(folder / "photo.c2f"), "--model", str(checkpoint)]) == 0
    return folder / "photo.c2f"


def pixels(path) -> list:
    with Image.open(path) as image:
        return list(image.getdata())


def test_decode_info_and_classify_use_what_arrived_and_say_what_was_lost(
    tmp_path, stream_file, checkpoint, capsys, hierarchy
):
    data = stream_file.read_bytes()
    sizes = parse_bitstream(data).segment_sizes()
    cut = tmp_path / "cut.c2f"
    cut.write_bytes(data[: (sizes[1] + sizes[2]) // 2])  # inside level 3
    capsys.readouterr()
    model = ["--model", str(checkpoint)]
    assert main(["decode", str(cut), "-o", str(tmp_path / "cut.png"), *model]) == 0
    err = capsys.readouterr().err
    assert "levels 1-2 of 3 complete" in err and "level 3 cut after" in err and "warning" in err
    assert main(["decode", str(stream_file), "-o", str(tmp_path / "two.png"), "--level", "2", *model]) == 0
    assert pixels(tmp_path / "cut.png") == pixels(tmp_path / "two.png")
    assert main(["decode", str(cut), "-o", str(tmp_path / "strict.png"), "--strict", *model]) == 1
    assert "the stream is cut" in capsys.readouterr().err and not (tmp_path / "strict.png").exists()
    assert main(["info", str(cut), "--json"]) == 0
    out, err = capsys.readouterr()
    info = json.loads(out)
    assert info["levels_present"] == 2 and info["cut"]["level"] == 3 and "levels 1-2 of 3 complete" in err
    assert info["cut"]["complete_bytes"] == sizes[1] and info["cut"]["missing_bytes"] > 0
    assert main(["info", str(cut), "--strict"]) == 1
    capsys.readouterr()
    args = ["classify", str(cut), *model, "--hierarchy", str(hierarchy), "--json"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["decoded_level"] == 2 and json.loads(out)["cut"]["level"] == 3
    assert "levels 1-2 of 3 complete" in err
    # a header cut short is still an error, whatever the options
    (tmp_path / "head.c2f").write_bytes(data[:20])
    assert main(["decode", str(tmp_path / "head.c2f"), "-o", str(tmp_path / "h.png"), *model]) == 1
    assert "truncated header" in capsys.readouterr().err


@pytest.fixture(scope="module")
def hierarchy(tmp_path_factory):
    import numpy as np

    from coarse2fine.hierarchy.assignments import write_assignments

    fine = np.random.default_rng(0).permutation(np.arange(1000) % 100)
    path = tmp_path_factory.mktemp("hierarchy") / "demo" / "assignments.csv"
    write_assignments(path, [fine % 10, fine], method="test")
    return path


def test_truncate_writes_a_valid_prefix_by_level_or_byte_budget(tmp_path, stream_file, capsys):
    data = stream_file.read_bytes()
    sizes = parse_bitstream(data).segment_sizes()
    out = tmp_path / "out.c2f"
    assert main(["truncate", str(stream_file), "--level", "1", "-o", str(out)]) == 0
    assert out.read_bytes() == truncate_to_level(data, 1)
    assert "level 1 of 3" in capsys.readouterr().err
    assert main(["truncate", str(stream_file), "--bytes", str(sizes[2] - 1), "-o", str(out), "--quiet"]) == 0
    assert out.read_bytes() == data[: sizes[1]] and capsys.readouterr().err == ""
    assert main(["truncate", str(stream_file), "--bytes", "10", "-o", str(out)]) == 1
    assert "smallest valid prefix" in capsys.readouterr().err
    assert main(["truncate", str(stream_file), "--level", "4", "-o", str(out)]) == 1
    assert "level 4 is not in this stream" in capsys.readouterr().err
    cut = tmp_path / "cut.c2f"
    cut.write_bytes(data[: sizes[2] - 1])
    assert main(["truncate", str(cut), "-o", str(out)]) == 0  # a cut stream's complete levels
    assert out.read_bytes() == data[: sizes[1]] and "the stream is cut" in capsys.readouterr().err
