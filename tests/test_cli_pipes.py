"""`c2f` as a Unix tool: `-` for standard input and output, status on standard error, --quiet,
the picture format from the output's extension, and input errors answered before torch loads."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from coarse2fine.cli import main
from conftest import save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "model.pt")


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    rng = np.random.default_rng(0)
    low = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(low).resize((56, 40), Image.BILINEAR).save(path)
    return path


@pytest.fixture(scope="module")
def stream(tmp_path_factory, png, checkpoint):
    path = tmp_path_factory.mktemp("stream") / "photo.c2f"
    assert main(["encode", str(png), "-o", str(path), "--model", str(checkpoint), "--quiet"]) == 0
    return path


def binary_stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def pixels(data_or_path) -> np.ndarray:
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    with Image.open(source) as image:
        return np.asarray(image.convert("RGB"))


def test_standard_input_and_output_both_ways(tmp_path, png, stream, checkpoint, capsysbinary, monkeypatch):
    model = ["--model", str(checkpoint)]
    assert main(["encode", str(png), "-o", "-", *model]) == 0
    out, err = capsysbinary.readouterr()
    assert out == stream.read_bytes() and b"<standard output>: 56x40, 3 levels" in err
    binary_stdin(monkeypatch, png.read_bytes())
    assert main(["encode", "-", *model, "--quiet"]) == 0  # standard input in, standard output out
    out, err = capsysbinary.readouterr()
    assert out == stream.read_bytes() and err == b""
    assert main(["decode", str(stream), "-o", str(tmp_path / "file.png"), *model, "--quiet"]) == 0
    binary_stdin(monkeypatch, stream.read_bytes())
    assert main(["decode", "-", "-o", "-", *model]) == 0
    out, err = capsysbinary.readouterr()
    assert out.startswith(b"\x89PNG") and b"level 3 of 3" in err
    assert np.array_equal(pixels(out), pixels(tmp_path / "file.png"))
    binary_stdin(monkeypatch, stream.read_bytes())
    assert main(["truncate", "-", "--level", "1"]) == 0
    assert len(capsysbinary.readouterr().out) < stream.stat().st_size
    binary_stdin(monkeypatch, stream.read_bytes())
    assert main(["info", "-"]) == 0
    assert b"<standard input>: c2f v1" in capsysbinary.readouterr().out


def test_a_real_pipe_between_two_processes(tmp_path, png, checkpoint):
    c2f = [sys.executable, "-m", "coarse2fine.cli"]
    encode = subprocess.Popen([*c2f, "encode", str(png), "-o", "-", "--model", str(checkpoint)], stdout=subprocess.PIPE)
    decode = subprocess.run(
        [*c2f, "decode", "-", "-o", str(tmp_path / "b.png"), "--model", str(checkpoint)],
        stdin=encode.stdout,
        capture_output=True,
        timeout=600,
    )
    encode.stdout.close()
    assert encode.wait(timeout=600) == 0 and decode.returncode == 0, decode.stderr[-2000:]
    assert decode.stdout == b"" and b"level 3 of 3" in decode.stderr
    assert pixels(tmp_path / "b.png").shape == (40, 56, 3)


def test_the_picture_format_follows_the_extension(tmp_path, stream, checkpoint, capsys):
    model = ["--model", str(checkpoint), "--quiet"]
    assert main(["decode", str(stream), "-o", str(tmp_path / "a.png"), *model]) == 0
    reference = pixels(tmp_path / "a.png")
    for name, form in (("a.tif", "TIFF"), ("a.bmp", "BMP"), ("a.ppm", "PPM")):
        assert main(["decode", str(stream), "-o", str(tmp_path / name), *model]) == 0
        with Image.open(tmp_path / name) as image:
            assert image.format == form
        assert np.array_equal(pixels(tmp_path / name), reference)  # lossless
    assert main(["decode", str(stream), "-o", str(tmp_path / "a.jpg"), *model]) == 1
    err = capsys.readouterr().err
    assert "lossy" in err and ".png" in err and ".tif" in err and "--quality" in err
    assert not (tmp_path / "a.jpg").exists()
    assert main(["decode", str(stream), "-o", str(tmp_path / "a.jpg"), "--quality", "90", *model]) == 0
    with Image.open(tmp_path / "a.jpg") as image:
        assert image.format == "JPEG"
    assert main(["decode", str(stream), "-o", str(tmp_path / "a.png"), "--quality", "90", *model]) == 1
    assert "--quality applies to the lossy formats" in capsys.readouterr().err
    assert main(["decode", str(stream), "-o", str(tmp_path / "a.xyz"), *model]) == 1
    assert "cannot tell the picture format" in capsys.readouterr().err


def test_input_errors_are_answered_before_torch_loads(tmp_path, stream, checkpoint):
    (tmp_path / "garbage.png").write_bytes(b"not a picture at all")
    (tmp_path / "foreign.c2f").write_bytes(b"GIF89a" + bytes(64))
    probe = """
import sys
from coarse2fine.cli import main
folder, model, stream = sys.argv[1:]
cases = [
    (["encode", folder + "/missing.png", "-o", folder + "/x.c2f", "--model", model], "no such file"),
    (["encode", folder + "/garbage.png", "-o", folder + "/x.c2f", "--model", model], "not an image"),
    (["encode", folder + "/garbage.png", "--model", folder + "/none.pt"], "checkpoint not found"),
    (["decode", folder + "/missing.c2f", "-o", folder + "/x.png", "--model", model], "no such file"),
    (["decode", folder + "/foreign.c2f", "-o", folder + "/x.png", "--model", model], "bad magic"),
    (["decode", stream, "-o", folder + "/x.jpg", "--model", model], "lossy"),
    (["info", folder + "/foreign.c2f"], "bad magic"),
    (["truncate", folder + "/foreign.c2f", "-o", folder + "/y.c2f"], "bad magic"),
    (["classify", folder + "/foreign.c2f", "--model", model, "--hierarchy", folder + "/none.csv"], "no such file"),
    (["eval", folder + "/missing", "--model", model], "not a folder"),
]
for argv, message in cases:
    assert main(argv) == 1, argv
print("torch" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path), str(checkpoint), str(stream)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "False"
    for message in ("no such file", "not an image", "checkpoint not found", "bad magic", "lossy", "not a folder"):
        assert message in done.stderr
