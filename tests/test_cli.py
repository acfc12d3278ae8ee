"""The `c2f` command line: encode / decode / info / classify, image modes, clear errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from coarse2fine.cli import COMMANDS, main
from conftest import save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "model.pt")


def photo_like(height=70, width=100, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, size=(height // 10 + 1, width // 10 + 1, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(low).resize((width, height), Image.BILINEAR))


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(photo_like()).save(path)
    return path


def test_commands_are_a_table():
    assert {"encode", "decode", "info", "classify"} <= set(COMMANDS)


def test_encode_info_decode(tmp_path, png, checkpoint, capsys):
    stream = tmp_path / "photo.c2f"
    assert main(["encode", str(png), "-o", str(stream), "--model", str(checkpoint)]) == 0
    assert f"{stream}: 100x70, 3 levels" in capsys.readouterr().err  # status on standard error
    assert main(["info", str(stream), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["levels_present"] == 3 and (info["width"], info["height"]) == (100, 70)
    assert info["levels"][-1]["bytes"] == stream.stat().st_size
    assert info["levels"][0]["bpp"] == pytest.approx(info["levels"][0]["bytes"] * 8 / 7000)
    for level in (None, 1):
        out = tmp_path / f"out{level}.png"
        args = ["decode", str(stream), "-o", str(out), "--model", str(checkpoint)]
        assert main(args + (["--level", str(level)] if level else [])) == 0
        with Image.open(out) as image:
            assert image.size == (100, 70) and image.mode == "RGB"
    assert main(["info", str(stream)]) == 0
    assert "levels 3 of 3" in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P"])
def test_image_modes_are_converted(tmp_path, checkpoint, mode):
    rgb = photo_like(50, 66)
    if mode == "L":
        image = Image.fromarray(rgb[..., 0])
    elif mode == "RGBA":
        image = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]))
    elif mode == "I;16":
        image = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    else:
        image = Image.fromarray(rgb).convert("P")
    path = tmp_path / "in.png"
    image.save(path)
    assert Image.open(path).mode.startswith(mode[0])
    assert main(["encode", str(path), "-o", str(tmp_path / "x.c2f"), "--model", str(checkpoint)]) == 0


def test_bad_inputs_give_clear_errors(tmp_path, png, checkpoint, capsys):
    truncated = tmp_path / "cut.jpg"
    Image.fromarray(photo_like(200, 200)).save(tmp_path / "full.jpg", quality=95)
    truncated.write_bytes((tmp_path / "full.jpg").read_bytes()[:600])
    assert main(["encode", str(truncated), "-o", str(tmp_path / "x.c2f"), "--model", str(checkpoint)]) == 1
    assert "cannot decode image" in capsys.readouterr().err
    assert main(["info", str(png)]) == 1
    assert "bad magic" in capsys.readouterr().err
    assert main(["encode", str(png), "-o", str(tmp_path / "x.c2f"), "--model", str(tmp_path / "none.pt")]) == 1
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["decode", str(tmp_path / "none.c2f"), "-o", str(tmp_path / "o.png"), "--model", str(checkpoint)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_one_pixel_limit_is_checked_before_any_work(tmp_path, png, checkpoint, capsys):
    from coarse2fine.coding import Bitstream, parse_bitstream

    stream = tmp_path / "x.c2f"
    assert main(["encode", str(png), "-o", str(stream), "--model", str(checkpoint)]) == 0
    capsys.readouterr()
    # the image reader checks the size the file declares, before decoding a pixel
    assert (
        main(["encode", str(png), "-o", str(tmp_path / "y.c2f"), "--model", str(checkpoint), "--max-pixels", "100"])
        == 1
    )
    assert "exceeds the limit of 100" in capsys.readouterr().err and not (tmp_path / "y.c2f").exists()
    assert (
        main(["decode", str(stream), "-o", str(tmp_path / "o.png"), "--model", str(checkpoint), "--max-pixels", "100"])
        == 1
    )
    assert "stream to decode (its declared size, padded)" in capsys.readouterr().err
    # a small file with valid CRCs declaring 8192 x 8192 is refused by the default limit
    parsed = parse_bitstream(stream.read_bytes())
    forged = tmp_path / "forged.c2f"
    forged.write_bytes(
        Bitstream(dataclasses.replace(parsed.header, width=8192, height=8192), parsed.hyper, parsed.levels).to_bytes()
    )
    assert main(["decode", str(forged), "-o", str(tmp_path / "o.png"), "--model", str(checkpoint)]) == 1
    assert "8192x8192 = 67108864 pixels exceeds the limit of 16777216" in capsys.readouterr().err
    assert (
        main(
            [
                "decode",
                str(forged),
                "-o",
                str(tmp_path / "o.png"),
                "--model",
                str(checkpoint),
                "--max-pixels",
                str(2**27),
            ]
        )
        == 1
    )
    assert "max_pixels must be an integer in 1..67108864" in capsys.readouterr().err


def test_classify_names_the_cluster_of_the_decoded_level(tmp_path, png, checkpoint, capsys):
    from coarse2fine.hierarchy.assignments import write_assignments

    rng = np.random.default_rng(0)
    fine = rng.permutation(np.arange(1000) % 100)
    assignments = tmp_path / "demo" / "assignments.csv"
    write_assignments(assignments, [fine % 10, fine], method="test")
    stream = tmp_path / "photo.c2f"
    assert main(["encode", str(png), "-o", str(stream), "--model", str(checkpoint)]) == 0
    capsys.readouterr()
    args = ["classify", str(stream), "--model", str(checkpoint), "--hierarchy", str(assignments), "--json"]
    assert main(args + ["--level", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decoded_level"] == 1 and result["answer"]["k"] == 10
    assert [row["k"] for row in result["levels"]] == [10, 100, 1000]
    assert result["answer"]["name"] and 0 < result["answer"]["probability"] <= 1
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["answer"]["k"] == 1000


def test_outputs_never_destroy_their_input_and_bad_targets_are_named(tmp_path, png, checkpoint, capsys):
    stream = tmp_path / "photo.c2f"
    assert main(["encode", str(png), "-o", str(stream), "--model", str(checkpoint)]) == 0
    before = stream.read_bytes()
    assert main(["decode", str(stream), "-o", str(stream), "--model", str(checkpoint)]) == 1
    assert "would overwrite the input" in capsys.readouterr().err and stream.read_bytes() == before
    original = png.read_bytes()
    assert main(["encode", str(png), "-o", str(png), "--model", str(checkpoint)]) == 1
    assert "would overwrite the input" in capsys.readouterr().err and png.read_bytes() == original
    assert main(["decode", str(stream), "-o", str(tmp_path), "--model", str(checkpoint)]) == 1
    assert "is a directory" in capsys.readouterr().err
    assert main(["decode", str(stream), "-o", str(png / "x.png"), "--model", str(checkpoint)]) == 1
    assert "is not a directory" in capsys.readouterr().err
    assert main(["decode", str(stream), "-o", str(tmp_path / ("x" * 300 + ".png")), "--model", str(checkpoint)]) == 1
    assert "File name too long" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*.partial"))  # no temporary file left behind
    with pytest.raises(SystemExit):
        main(["info", str(stream), "--threads", "0"])
    assert "must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["classify", str(stream), "--model", str(checkpoint), "--hierarchy", "h.csv", "--classifier", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_encode_codes_the_view_asked_for(tmp_path, png, checkpoint, capsys):
    stream = tmp_path / "view.c2f"
    assert main(["encode", str(png), "-o", str(stream), "--model", str(checkpoint), "--view", "64"]) == 0
    assert main(["info", str(stream), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["width"], info["height"]) == (64, 64)
    assert main(["encode", str(png), "-o", str(stream), "--model", str(checkpoint), "--view", "model"]) == 1
    assert "does not record the view" in capsys.readouterr().err
    assert main(["encode", str(png), "-o", str(stream), "--model", str(checkpoint), "--view", "big"]) == 1
    assert "--view must be native, model or a size" in capsys.readouterr().err


def test_the_shipped_default_model_needs_no_model_option(tmp_path, png, capsys, monkeypatch):
    from coarse2fine.cli.common import CHECKOUT_MODEL, MODEL_VARIABLE

    monkeypatch.delenv(MODEL_VARIABLE, raising=False)
    if CHECKOUT_MODEL is None or not CHECKOUT_MODEL.is_file():
        pytest.skip(f"{CHECKOUT_MODEL} is not pulled here (make pull-models)")
    stream = tmp_path / "photo.c2f"
    assert main(["encode", str(png), "-o", str(stream), "--view", "model"]) == 0
    assert main(["info", str(stream)]) == 0
    assert "the default model (models/default/c2f)" in capsys.readouterr().out
    assert main(["decode", str(stream), "-o", str(tmp_path / "out.png"), "--level", "1"]) == 0
    with Image.open(tmp_path / "out.png") as decoded:
        assert decoded.size == (128, 128)  # the study's view the default model was trained at


def test_eval_codes_a_folder_of_mixed_sizes_at_every_level(tmp_path, checkpoint, capsys):
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    Image.fromarray(photo_like(70, 100)).save(folder / "a.png")
    Image.fromarray(photo_like(130, 64, seed=1)).save(folder / "nested" / "b.jpg", quality=90)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    assert main(["eval", str(folder), "--model", str(checkpoint), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [s["level"] for s in result["levels"]] == [1, 2, 3]
    assert all(s["images"] == 2 for s in result["levels"])
    assert {(r["width"], r["height"]) for r in result["images"]} == {(100, 70), (64, 130)}
    bpp = [s["bpp"] for s in result["levels"]]
    assert bpp == sorted(bpp) and bpp[0] > 0
    assert all(0 <= s["top1_agreement"] <= 1 and s["psnr"] > 0 and s["decode_s"] > 0 for s in result["levels"])
    assert [item["image"].endswith("broken.jpg") for item in result["skipped"]] == [True]
    assert main(["eval", str(folder), "--model", str(checkpoint), "--classifier", "none"]) == 0
    table = capsys.readouterr().out
    assert "top-1 agreement %" in table and "skipped" in table
    assert main(["eval", str(tmp_path / "nothing"), "--model", str(checkpoint)]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_eval_goes_through_the_studys_one_measuring_loop(tmp_path, checkpoint, capsys, monkeypatch):
    """`c2f eval` measures with the pipeline's loop (evaluate/views/measure.py), one call per
    image, the model as a coding provider: no second loop to drift from the study's."""
    import coarse2fine.evaluate.views.folder as folder_module

    calls = []
    loop = folder_module.measure_views

    def counted(table, *args, **kwargs):
        calls.append(list(table["path"]))
        return loop(table, *args, **kwargs)

    monkeypatch.setattr(folder_module, "measure_views", counted)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(photo_like(64, 64, seed=i)).save(folder / f"p{i}.png")
    assert main(["eval", str(folder), "--model", str(checkpoint), "--json", "--classifier", "none"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(calls) == [["p0.png"], ["p1.png"]] and len(result["images"]) == 6


@pytest.mark.slow
def test_eval_with_workers_measures_the_same_as_alone(tmp_path, checkpoint, capsys):
    """`c2f eval --workers 2`: the images shared between two processes, every figure but the
    times the same as one process gives, an unreadable image still listed."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(photo_like(64 + 8 * i, 80, seed=i)).save(folder / f"p{i}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    results = []
    for workers in ("1", "2"):
        assert main(["eval", str(folder), "--model", str(checkpoint), "--json", "--workers", workers]) == 0
        results.append(json.loads(capsys.readouterr().out))
    timeless = [
        [{k: v for k, v in row.items() if not k.endswith("_s")} for row in result["images"]] for result in results
    ]
    assert timeless[0] == timeless[1] and len(timeless[0]) == 9
    assert results[0]["skipped"] == results[1]["skipped"] and len(results[1]["skipped"]) == 1


def test_version_and_examples_in_every_help(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("c2f (coarse2fine) ")
    for command in ("encode", "decode", "info", "classify", "eval"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert f"examples:\n  c2f {command}" in capsys.readouterr().out


def test_version_help_and_info_never_import_torch(tmp_path, png, checkpoint, monkeypatch):
    """The commands that read no pixels start without torch (BENCHMARKS.md times them): `info`
    of a stream from the default model knows it by the identity its provenance records."""
    import subprocess
    import sys

    from coarse2fine.cli.common import MODEL_VARIABLE
    from coarse2fine.cli.streams import default_model_identity

    monkeypatch.delenv(MODEL_VARIABLE, raising=False)

    stream = tmp_path / "x.c2f"
    assert main(["encode", str(png), "-o", str(stream)]) == 0  # the shipped default model
    probe = (
        "import sys\nfrom coarse2fine.cli import main\n"
        "for argv in (['--version'], ['--help'], ['encode', '--help'], ['info', sys.argv[1]]):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(stream)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the default model" in result.stdout
    # the recorded identity is the one a loaded model computes
    from coarse2fine.cli.common import default_model
    from coarse2fine.coding import load_codec
    from coarse2fine.coding.identity import model_identity

    assert default_model_identity() == model_identity(load_codec(default_model().path)).hex()


def test_many_files_in_one_call_each_failure_named_and_the_rest_coded(tmp_path, checkpoint, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(photo_like(40 + 8 * i, 56, seed=i)).save(photos / f"p{i}.png")
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    streams = tmp_path / "streams"
    assert main(["encode", str(photos), "--output-dir", str(streams), "--model", str(checkpoint)]) == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "1 of 4 files failed" in err
    assert sorted(p.name for p in streams.iterdir()) == ["p0.c2f", "p1.c2f", "p2.c2f"]
    decoded = tmp_path / "decoded"
    files = [str(p) for p in sorted(streams.iterdir())]
    assert main(["decode", *files, "--output-dir", str(decoded), "--model", str(checkpoint), "--level", "1"]) == 0
    assert sorted(p.name for p in decoded.iterdir()) == ["p0.png", "p1.png", "p2.png"]
    with Image.open(decoded / "p2.png") as im:
        assert im.size == (56, 56)
    # one input and no -o: beside it; several inputs and -o: refused, naming --output-dir
    assert main(["decode", files[0], "--model", str(checkpoint)]) == 0 and (streams / "p0.png").is_file()
    assert main(["decode", *files, "-o", str(tmp_path / "x.png"), "--model", str(checkpoint)]) == 1
    assert "--output-dir" in capsys.readouterr().err
