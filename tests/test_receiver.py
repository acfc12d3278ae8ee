"""A receiver that stops when it knows enough: the stream read one segment at a time from a
file or a pipe (bytes fed in pieces), the stopping rule, and `c2f classify --until-confident`."""

from __future__ import annotations

import io
import json
import os
import sys
import threading

import numpy as np
import pytest
import torch

from coarse2fine.classify.levels import answered_level, stop_level
from coarse2fine.cli import main
from coarse2fine.coding import BitstreamError, encode_image, load_codec, parse_bitstream
from coarse2fine.coding.reader import StreamReader
from conftest import Trickle, save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "model.pt")


@pytest.fixture(scope="module")
def stream(checkpoint):
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 12, generator=g), size=(64, 96), mode="bilinear").clamp(
        0, 1
    )
    return encode_image(load_codec(checkpoint), x)


@pytest.fixture(scope="module")
def hierarchy(tmp_path_factory):
    from coarse2fine.hierarchy.assignments import write_assignments

    fine = np.random.default_rng(0).permutation(np.arange(1000) % 100)
    path = tmp_path_factory.mktemp("hierarchy") / "demo" / "assignments.csv"
    write_assignments(path, [fine % 10, fine], method="test")
    return path


@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_segments_arrive_one_level_at_a_time(stream, piece):
    parsed = parse_bitstream(stream)
    reader = StreamReader(Trickle(stream, piece))
    seen = []
    for partial in reader:
        seen.append((partial.num_levels, reader.bytes_read))
        assert partial.to_bytes() == stream[: reader.bytes_read]  # a valid stream of the levels so far
    assert seen == [(k, size) for k, size in enumerate(parsed.segment_sizes(), 1)]


def test_a_stream_cut_or_corrupted_midway_gives_the_levels_before_then_a_named_error(stream):
    sizes = parse_bitstream(stream).segment_sizes()
    reader = StreamReader(Trickle(stream[: sizes[1] + 10], 5))
    assert reader.next_level() is not None and reader.next_level() is not None
    with pytest.raises(BitstreamError, match="truncated level 3 segment"):
        reader.next_level()
    corrupt = bytearray(stream)
    corrupt[sizes[1] - 2] ^= 1  # inside the level 2 payload
    reader = StreamReader(io.BytesIO(bytes(corrupt)))
    assert reader.next_level() is not None
    with pytest.raises(BitstreamError, match="CRC mismatch in level 2 segment"):
        reader.next_level()
    with pytest.raises(BitstreamError, match="bad magic"):
        StreamReader(io.BytesIO(b"not a stream"))


def test_the_stopping_rule():
    assert stop_level([0.2, 0.6, 0.9], 0.5) == 2
    assert stop_level([0.2, 0.3, 0.4], 0.5) == 3  # never confident: everything is read
    assert stop_level([0.7, 0.1], 0.0) == 1
    assert [answered_level(s, 3, 3) for s in (1, 2, 3)] == [1, 2, 3]
    assert [answered_level(s, 4, 3, semantic=False) for s in (1, 2, 3, 4)] == [1, 2, 3, 3]


def test_until_confident_from_a_file(tmp_path, stream, checkpoint, hierarchy, capsys):
    path = tmp_path / "x.c2f"
    path.write_bytes(stream)
    sizes = parse_bitstream(stream).segment_sizes()
    args = ["classify", str(path), "--model", str(checkpoint), "--hierarchy", str(hierarchy), "--json"]
    assert main(args + ["--until-confident", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["stopped_at_level"], result["bytes_read"], result["confident"]) == (1, sizes[0], True)
    assert result["answer"]["k"] == 10
    assert main(args + ["--until-confident", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    # nothing is certain: every level is read, and the answer is the class
    assert (result["stopped_at_level"], result["bytes_read"], result["answer"]["k"]) == (3, len(stream), 1000)
    assert [t["bytes_read"] for t in result["trace"]] == sizes
    with pytest.raises(SystemExit):
        main(args + ["--until-confident", "1.5"])
    assert "probability in [0, 1]" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_until_confident_from_a_pipe_stops_without_waiting_for_the_rest(
    stream, checkpoint, hierarchy, capsys, monkeypatch
):
    sizes = parse_bitstream(stream).segment_sizes()
    read_end, write_end = os.pipe()
    done = threading.Event()

    def sender():
        with os.fdopen(write_end, "wb", buffering=0) as pipe:
            for i in range(0, sizes[0], 5):  # level 1 in small pieces ...
                pipe.write(stream[i : min(i + 5, sizes[0])])
            done.wait(60)  # ... then nothing until the receiver has answered

    thread = threading.Thread(target=sender)
    thread.start()
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(pipe))
        code = main(
            [
                "classify",
                "-",
                "--model",
                str(checkpoint),
                "--hierarchy",
                str(hierarchy),
                "--until-confident",
                "0",
                "--json",
            ]
        )
        done.set()
    thread.join()
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["stopped_at_level"], result["bytes_read"]) == (1, sizes[0])


def test_receiver_table_follows_the_rule_image_by_image():
    import pandas as pd

    from coarse2fine.evaluate.reports.receiver_table import receiver_rows, segment_tables

    rows = []
    # image a: confident at level 1 (right there), image b: never confident (wrong coarse, right class)
    for image, confidences, correct in (("a", [0.9, 0.2, 0.1], [1, 0, 0]), ("b", [0.3, 0.4, 0.6], [0, 1, 1])):
        for level in (1, 2, 3):
            row = {
                "image": image,
                "classifier": "judge",
                "codec": "c2f",
                "rate_point": "rp1",
                "level": level,
                "bpp_actual": 0.1 * level,
            }
            for k in (1, 2, 3):
                row.update(
                    {
                        f"confidence_L{k}": confidences[k - 1],
                        f"correct_L{k}": correct[k - 1],
                        f"agree_L{k}": correct[k - 1],
                    }
                )
            rows.append(row)
    frame = receiver_rows(segment_tables(pd.DataFrame(rows), "judge"), [0.5, 0.95])
    at = frame.set_index("threshold")
    # P=0.5: a stops at level 1 (0.1 bpp, right), b reads all (0.3 bpp, right at the class)
    assert at.loc[0.5, "bpp"] == pytest.approx(0.2) and at.loc[0.5, "top1"] == 1.0
    assert at.loc[0.5, "stopped_early"] == 0.5 and at.loc[0.5, "mean_level"] == 2.0
    # the same questions from the whole stream: a's coarse answer is still right
    assert at.loc[0.5, "top1_everything"] == 1.0
    # P=0.95 and everything: both read all, a's class is wrong
    for p in (0.95, "everything"):
        assert (
            at.loc[p, "bpp"] == pytest.approx(0.3)
            and at.loc[p, "top1"] == 0.5
            and at.loc[p, "share_of_everything"] == 1
        )
