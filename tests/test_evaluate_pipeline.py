"""The evaluation harness on real photos: decoded views of the reference, the anchors and a
learned codec's real bitstreams; then the tables for a hierarchy (the paper's) and the figures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from coarse2fine.data.manifest import sha256_file, write_manifest
from coarse2fine.evaluate.tables import tables_job as tables
from coarse2fine.evaluate.views import views_job as views
from coarse2fine.plan.evaluation import FIGURE_NAMES

CLASSIFIERS = ["efficientnet_lite0", "resnet50"]  # resnet50 has no weights offline: skipped, logged


def foolbox_photos() -> Path:
    spec = importlib.util.find_spec("foolbox")  # the wheel's data folder is read, never imported
    return Path(list(spec.submodule_search_locations)[0]) / "data"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """Four real ImageNet photos (class index in the file name): 2 val, 1 test, 1 train."""
    root = foolbox_photos()
    rows = []
    for name, split in [
        ("imagenet_00_243.jpg", "val"),
        ("imagenet_01_559.jpg", "test"),
        ("imagenet_02_438.jpg", "train"),
        ("imagenet_03_990.jpg", "val"),
    ]:
        with Image.open(root / name) as im:
            width, height = im.size
        rows.append(
            {
                "path": name,
                "sha256": sha256_file(root / name),
                "width": width,
                "height": height,
                "label_idx": int(Path(name).stem.split("_")[-1]),
                "label_source": "ground_truth",
                "split": split,
                "source": "foolbox",
            }
        )
    path = tmp_path_factory.mktemp("eval") / "manifest.csv"
    write_manifest(pd.DataFrame(rows), path, root)
    return path


def settings(provider, **extra):
    return {"provider": provider, "classifiers": CLASSIFIERS, "reconstructions": 2, "threads": 1, **extra}


@pytest.fixture(scope="module")
def anchor_views(manifest, tmp_path_factory):
    out = tmp_path_factory.mktemp("views")
    specs = {
        "uncompressed": {"kind": "reference"},
        "jpeg2000": {"kind": "anchor", "name": "jpeg2000", "settings": {"layer_bpp": [0.05, 0.2, 0.8]}},
        "jpeg": {"kind": "anchor", "name": "jpeg", "settings": {"qualities": [5, 30, 80]}},
    }
    return {name: (views.run(settings(spec), manifest, out / name), out / name) for name, spec in specs.items()}


def test_views_of_the_anchors(anchor_views):
    frame, folder = anchor_views["jpeg2000"]
    assert sorted(set(frame["split"])) == ["test", "val"]  # the train image is never evaluated
    assert len(frame) == 3 * 3 and frame["level"].isna().all()
    for _, rows in frame.groupby("image"):
        assert rows["bytes"].is_monotonic_increasing and rows["psnr"].is_monotonic_increasing
    assert frame["bpp_estimated"].isna().all()  # an anchor's rate is its actual size
    info = json.loads((folder / "classifiers.json").read_text())
    assert "efficientnet_lite0" in info["used"]
    assert set(info["used"]) | set(info["skipped"]) == set(CLASSIFIERS)
    with np.load(folder / "logits.npz") as npz:
        assert npz["efficientnet_lite0"].shape == (len(frame), 1000)
    saved = frame["recon_file"].dropna()
    assert frame.loc[saved.index, "image"].nunique() == 2
    assert all((folder / "recon" / f).is_file() for f in saved)
    reference, _ = anchor_views["uncompressed"]
    assert reference["bpp_actual"].isna().all() and (reference["ms_ssim"] == 1.0).all()


def test_train_split_is_refused(manifest, tmp_path):
    with pytest.raises(ValueError, match="never evaluated"):
        views.run(settings({"kind": "reference"}, splits=["val", "train"]), manifest, tmp_path)


@pytest.fixture(scope="module")
def learned_views(manifest, tmp_path_factory):
    """A small untrained codec through the real bitstream stage, then the learned provider."""
    from coarse2fine.coding.split import check_split, encode_split
    from coarse2fine.models import build_codec

    work = tmp_path_factory.mktemp("learned")
    config = {
        "name": "c2f",
        "backbone": "conv",
        "N": 16,
        "M": 24,
        "level_blocks": [8, 8, 8],
        "slices_per_block": 1,
        "delta": True,
    }
    torch.manual_seed(0)
    torch.save({"codec_config": config, "state_dict": build_codec(**config).state_dict()}, work / "model.pt")
    sizes = encode_split(work / "model.pt", manifest, work / "streams", work / "sizes.csv")
    check = check_split(
        work / "model.pt", work / "streams", work / "sizes.csv", work / "roundtrip.json", work / "decoded"
    )
    assert check["bit_exact"]
    spec = {
        "kind": "learned",
        "codec": "c2f",
        "rate_point": "rp0",
        "decoded": str(work / "decoded"),
        "sizes": str(work / "sizes.csv"),
    }
    return views.run(settings(spec), manifest, work / "views"), work / "views", sizes


def test_learned_codec_views_are_its_bitstream_prefixes(learned_views):
    frame, _, sizes = learned_views
    assert sorted(set(frame["level"])) == [1, 2, 3]
    merged = frame.merge(sizes, on=["image", "level"], suffixes=("", "_stream"))
    assert len(merged) == len(frame) == 9
    assert (merged["bytes"] == merged["bytes_stream"]).all()
    assert np.allclose(merged["bpp_actual"], merged["bpp"]) and np.allclose(
        merged["bpp_estimated"], merged["bpp_estimated_stream"]
    )


@pytest.mark.slow  # WordNet loads in ~10-25 s
def test_tables_and_figures_for_the_paper_hierarchy(anchor_views, learned_views, tmp_path):
    from coarse2fine.figures.evaluation import run as make_figures
    from test_evaluate_levels import paper_level_maps

    dirs = [folder for _, folder in anchor_views.values()] + [learned_views[1]]
    out = tables.run({"bootstrap": 200, "bd_anchor": "jpeg"}, dirs, paper_level_maps(), tmp_path / "tables")
    per_image, summary, bd = out["per_image"], out["summary"], out["bd"]
    n_views = sum(len(pd.read_csv(d / "views.csv")) for d in dirs)
    assert len(per_image) == n_views * per_image["classifier"].nunique()
    for level in (1, 2, 3):
        assert {f"pred_L{level}", f"correct_L{level}"} <= set(per_image.columns)
    assert (per_image["pred_L3"] == per_image["predicted_class"]).all()
    assert (per_image["correct_L3"] == (per_image["predicted_class"] == per_image["label_idx"])).all()
    assert ((per_image["wu_palmer"] == 1.0) == (per_image["correct_L3"] == 1.0)).all()
    for metric in ("bpp_actual", "psnr", "correct_L1"):
        ok = summary[metric].notna()
        assert (summary.loc[ok, f"{metric}_lo"] <= summary.loc[ok, metric] + 1e-12).all()
        assert (summary.loc[ok, metric] <= summary.loc[ok, f"{metric}_hi"] + 1e-12).all()
    assert set(bd["codec"]) == {"jpeg2000", "c2f"} and set(bd["K"]) == {10, 100, 1000}
    assert "top-1 K=10 %" in (tmp_path / "tables" / "summary.md").read_text()

    paths = make_figures({"classifiers": ["efficientnet_lite0"]}, tmp_path / "tables", tmp_path / "figures")
    assert {p.name for p in paths} == {f"{n}.{e}" for n in FIGURE_NAMES for e in ("png", "pdf")}
    # the prior-robust metrics sit beside top-1 in the summary, and their own tables beside it
    assert {"balanced_L1", "modal_share_L1", "true_modal_share_L1"} <= set(summary.columns)
    assert "informative" in (tmp_path / "tables" / "prior.md").read_text()
    assert {"label_source", "photo_source"} == set(pd.read_csv(tmp_path / "tables" / "breakdown.csv")["split_by"])
    with Image.open(tmp_path / "figures" / "top1_vs_bpp.png") as im:
        assert im.width > 3 * im.height / 2  # three panels side by side
    assert all(p.stat().st_size > 5000 for p in paths)


def test_learned_provider_refuses_a_decoded_image_that_is_not_the_encoders(learned_views, tmp_path):
    import shutil

    from coarse2fine.evaluate.views.providers.learned import learned_provider

    _, views_dir, sizes = learned_views
    decoded = next(views_dir.parent.glob("**/decoded"))
    tampered = tmp_path / "decoded"
    shutil.copytree(decoded, tampered)
    victim = sorted(tampered.glob("*.L2.png"))[0]
    pixels = np.array(Image.open(victim))
    pixels[0, 0, 0] ^= 1
    Image.fromarray(pixels).save(victim)
    image = sizes.loc[sizes["stream"].str.startswith(victim.name.split(".L")[0]), "image"].iloc[0]
    provide = learned_provider(
        {"codec": "c2f", "rate_point": "rp0", "decoded": str(tampered), "sizes": str(views_dir.parent / "sizes.csv")}
    )
    with pytest.raises(ValueError, match="pixels differ"):
        list(provide(image, None))


def test_baseline_prefixes_are_rate_points_that_serve_every_level(learned_views):
    from coarse2fine.evaluate.views.providers.learned import learned_provider

    _, views_dir, sizes = learned_views
    decoded = next(views_dir.parent.glob("**/decoded"))
    provide = learned_provider(
        {
            "codec": "deephq",
            "layers_are_rate_points": True,
            "decoded": str(decoded),
            "sizes": str(views_dir.parent / "sizes.csv"),
        }
    )
    views = list(provide(sizes["image"].iloc[0], None))
    assert [v.rate_point for v in views] == ["L1", "L2", "L3"]
    assert all(v.level is None and v.codec == "deephq" for v in views)


def test_progressive_check_follows_prefixes_and_flags_a_falling_psnr():
    from coarse2fine.evaluate.tables.progressive import progressive_check

    rows = [("c2f", "rp0", lvl, 0.1 * lvl, 20 + lvl) for lvl in (1, 2, 3)]
    rows += [("deephq", f"L{i}", None, 0.05 * i, 25 - (i == 3)) for i in (1, 2, 3)]
    rows += [("jpeg", "q010", None, 0.3, 25.0), ("jpeg", "q050", None, 1.0, 31.0)]
    summary = pd.DataFrame(rows, columns=["codec", "rate_point", "level", "bpp_actual", "psnr"]).assign(
        classifier="lite0"
    )
    summary["level"] = summary["level"].astype("Int64")
    report = {r["codec"]: r for r in progressive_check(summary)}
    assert set(report) == {"c2f", "deephq"}  # anchors are not progressive streams
    assert report["c2f"]["rate_rises"] and report["c2f"]["psnr_never_falls"] and report["c2f"]["prefixes"] == [1, 2, 3]
    assert report["deephq"]["prefixes"] == ["L1", "L2", "L3"] and report["deephq"]["rate_rises"]
    assert not report["deephq"]["psnr_never_falls"]
