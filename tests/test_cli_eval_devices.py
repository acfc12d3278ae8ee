"""`c2f eval` for the field (undefined metrics reported as not applicable, CompressAI's results
format read back by CompressAI's own plotting loader) and `--device` on every command that runs
a model (tested on the CPU; a GPU is asked for only where torch sees one)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from coarse2fine.cli import main
from conftest import save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "model.pt")


def photo(height: int, width: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, size=(height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return Image.fromarray(low).resize((width, height), Image.BILINEAR)


def test_eval_json_is_compressais_results_format_and_never_nan(tmp_path, checkpoint, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    photo(24, 40).save(folder / "tiny.png")  # shorter side under 33: MS-SSIM undefined
    out = tmp_path / "results.json"
    argv = ["eval", str(folder), "--model", str(checkpoint), "--json", "--classifier", "none", "--device", "cpu"]
    assert main([*argv, "--name", "tiny-c2f"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    out.write_text(text)
    result = json.loads(text)
    assert result["name"] == "tiny-c2f" and "device cpu" in result["description"]
    assert result["device"] == "cpu"
    levels = result["levels"]
    assert [level["level"] for level in levels] == [1, 2, 3]
    assert all(level["ms_ssim"] is None and "33 pixels" in level["not_applicable"]["ms_ssim"] for level in levels)
    assert all(row["ms_ssim"] is None and "ms_ssim" in row["not_applicable"] for row in result["images"])
    curve = result["results"]
    assert curve["bpp"] == [level["bpp"] for level in levels] and curve["psnr-rgb"] == [lv["psnr"] for lv in levels]
    assert "ms-ssim" not in curve and "ms-ssim-rgb left out" in result["description"]
    from compressai.utils.plot.__main__ import parse_json_file

    read = parse_json_file(out, "psnr")
    assert read["name"] == "tiny-c2f" and read["xs"] == curve["bpp"] and read["ys"] == curve["psnr-rgb"]
    # a folder where every image defines MS-SSIM gives it under both of CompressAI's names
    photo(40, 48, seed=1).save(folder / "tiny.png")
    assert main(argv) == 0
    curve = json.loads(capsys.readouterr().out)["results"]
    assert set(curve) >= {"bpp", "psnr-rgb", "ms-ssim", "ms-ssim-rgb"} and len(curve["ms-ssim"]) == 3
    assert all(0 < v <= 1 for v in curve["ms-ssim"])
    folder.joinpath("tiny.png").unlink()
    photo(24, 40).save(folder / "small.png")
    assert main(["eval", str(folder), "--model", str(checkpoint), "--classifier", "none"]) == 0
    table = capsys.readouterr().out  # the table: n/a where an image leaves MS-SSIM undefined, never nan
    assert "nan" not in table and "device: cpu" in table


def test_device_is_checked_and_used_by_every_command_that_runs_a_model(tmp_path, checkpoint, capsys):
    png, stream = tmp_path / "p.png", tmp_path / "p.c2f"
    photo(40, 48).save(png)
    model = ["--model", str(checkpoint), "--quiet"]
    assert main(["encode", str(png), "-o", str(stream), *model, "--device", "cpu"]) == 0
    assert main(["decode", str(stream), "-o", str(tmp_path / "cpu.png"), *model, "--device", "cpu"]) == 0
    assert main(["decode", str(stream), "-o", str(tmp_path / "auto.png"), *model, "--device", "auto"]) == 0
    if not torch.cuda.is_available():
        with Image.open(tmp_path / "cpu.png") as a, Image.open(tmp_path / "auto.png") as b:
            assert list(a.getdata()) == list(b.getdata())  # auto is the CPU here
        assert main(["decode", str(stream), "-o", str(tmp_path / "gpu.png"), *model, "--device", "cuda"]) == 1
        assert "--device cuda: no CUDA device" in capsys.readouterr().err
    for command in ("encode", "decode", "classify", "eval"):
        with pytest.raises(SystemExit):
            main([command, "x", "--device", "gpu"])
        assert "expected auto, cpu, cuda or cuda:N" in capsys.readouterr().err
    assert main(["eval", str(tmp_path), *model, "--workers", "2", "--device", "auto"]) == 1
    assert "--workers codes on the CPU" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_stream_encoded_on_the_cpu_decodes_to_the_same_latents_on_a_gpu(tmp_path, checkpoint):
    from coarse2fine.coding import decode_bitstream, encode_image, load_codec
    from coarse2fine.devices import codec_on

    codec = load_codec(checkpoint)
    x = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    data = encode_image(codec, x)
    on_cpu = decode_bitstream(codec, data)
    on_gpu = decode_bitstream(codec_on(load_codec(checkpoint), torch.device("cuda")), data)
    assert torch.equal(on_cpu.latents, on_gpu.latents)
    assert (on_cpu.image - on_gpu.image).abs().max() < 1e-3  # the float32 synthesis' rounding
