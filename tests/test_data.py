"""Datasets as manifests, built from real photos."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from coarse2fine.data.build import DatasetError, assign_splits, build_manifest
from coarse2fine.data.manifest import ManifestError, read_manifest, sha256_file
from coarse2fine.hierarchy.classes import class_table
from coarse2fine.imaging.photos import ImageReadError, open_rgb, to_rgb


def test_sample_manifest_has_enough_real_labelled_photos(sample_manifest):
    table, root = read_manifest(sample_manifest)
    assert len(table) >= 200
    assert table["label_idx"].notna().sum() >= 100
    assert (table["label_source"] == "ground_truth").sum() == 20  # foolbox's labelled ImageNet photos
    assert set(table["split"]) == {"train", "val", "test"}
    assert table["path"].is_unique
    # Every listed file exists, has the recorded size and hash.
    for row in table.sample(20, random_state=0).itertuples():
        file = root / row.path
        assert sha256_file(file) == row.sha256
        with Image.open(file) as im:
            assert (im.width, im.height) == (row.width, row.height)


def test_sample_ground_truth_agrees_with_teacher_mostly(sample_manifest):
    """The teacher is a real ImageNet classifier: on the ground-truth photos it is mostly right."""
    from coarse2fine.data.build import teacher_labels

    table, root = read_manifest(sample_manifest)
    gt = table[table["label_source"] == "ground_truth"]
    predicted = teacher_labels([open_rgb(root / p) for p in gt["path"]], "efficientnet_lite0")
    assert np.mean(np.asarray(predicted) == gt["label_idx"].to_numpy()) >= 0.75


def test_splits_are_disjoint_and_deterministic():
    sources = ["a"] * 50 + ["b"] * 30
    fractions = {"train": 0.6, "val": 0.3}
    first = assign_splits(sources, fractions, seed=7)
    assert first == assign_splits(sources, fractions, seed=7)
    assert first != assign_splits(sources, fractions, seed=8)
    counts = pd.Series(first[:50]).value_counts()
    assert counts["train"] == 30 and counts["val"] == 15 and counts["test"] == 5


def test_folder_dataset_reports_corrupt_images_and_keeps_the_rest(tmp_path, sample_manifest):
    table, root = read_manifest(sample_manifest)
    images = tmp_path / "photos"
    wnid_dir = images / class_table()["wnid"][243]
    wnid_dir.mkdir(parents=True)
    jpgs = table[table["path"].str.endswith(".jpg")]["path"].tolist()[:4]
    for i, rel in enumerate(jpgs):
        shutil.copyfile(root / rel, (wnid_dir if i == 0 else images) / f"photo{i}.jpg")
    data = (root / jpgs[0]).read_bytes()
    (images / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (images / "not_an_image.png").write_bytes(b"this is text")
    manifest = tmp_path / "ds" / "manifest.csv"
    built = build_manifest({"name": "mine", "kind": "folder", "folder": {"path": str(images)}}, manifest)
    assert len(built) == 4
    info = json.loads((manifest.parent / "dataset.json").read_text())
    assert info["unreadable"] == 2
    assert any("truncated.jpg" in line for line in info["unreadable_files"])
    assert any("not_an_image.png" in line for line in info["unreadable_files"])
    labelled = built.set_index("path").loc[f"{class_table()['wnid'][243]}/photo0.jpg"]
    assert labelled["label_source"] == "ground_truth" and labelled["label_idx"] == 243
    assert set(built["label_source"]) == {"ground_truth", "teacher"}
    # The manifest records the folder as its root: paths resolve there.
    reread, reread_root = read_manifest(manifest)
    assert (reread_root / reread["path"][0]).is_file()


def test_imagenet_missing_root_shows_expected_layout(tmp_path):
    with pytest.raises(DatasetError, match=r"train/n01440764"):
        build_manifest(
            {"name": "imagenet", "kind": "imagenet", "imagenet": {"root": str(tmp_path / "nope")}}, tmp_path / "m.csv"
        )


def test_imagenet_tree_subset(tmp_path, sample_manifest):
    """A miniature ILSVRC-2012 tree: wnid folders for train, official file names for val."""
    table, root = read_manifest(sample_manifest)
    photo = root / table["path"][0]
    classes = class_table()
    for wnid in classes["wnid"][:3]:
        (tmp_path / "train" / wnid).mkdir(parents=True)
        for j in range(4):
            shutil.copyfile(photo, tmp_path / "train" / wnid / f"{wnid}_{j}.JPEG")
    (tmp_path / "val").mkdir()
    for stem in ["ILSVRC2012_val_00000001", "ILSVRC2012_val_00000002"]:
        shutil.copyfile(photo, tmp_path / "val" / f"{stem}.JPEG")
    settings = {
        "name": "inet",
        "kind": "imagenet",
        "split": {"seed": 42},
        "imagenet": {"root": str(tmp_path), "train_images": 5, "val_images": 2},
    }
    built = build_manifest(settings, tmp_path / "out" / "manifest.csv")
    assert (built["split"] == "train").sum() == 5 and (built["split"] == "val").sum() == 2
    assert (built["label_source"] == "ground_truth").all()
    from coarse2fine.hierarchy.classes import val_ground_truth

    val = built[built["split"] == "val"].sort_values("path")
    assert val["label_idx"].tolist() == [
        val_ground_truth()["ILSVRC2012_val_00000001"],
        val_ground_truth()["ILSVRC2012_val_00000002"],
    ]


def test_image_modes_convert_by_rule(tmp_path):
    gray16 = Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16))
    assert np.asarray(to_rgb(gray16)).max() == 255
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))  # fully transparent -> white background
    assert np.asarray(to_rgb(rgba)).min() == 255
    with pytest.raises(ImageReadError, match="no such file"):
        open_rgb(tmp_path / "missing.png")


def test_manifest_with_bad_split_is_refused(tmp_path):
    bad = tmp_path / "manifest.csv"
    bad.write_text("path,sha256,width,height,label_idx,label_source,split,source\na.png,x,1,1,,,training,s\n")
    with pytest.raises(ManifestError, match="training"):
        read_manifest(bad)


def test_a_subset_is_spread_over_the_manifest_and_always_the_same():
    import pandas as pd

    from coarse2fine.data.manifest import spread_subset

    table = pd.DataFrame(
        {"path": [f"{s}/{i}.png" for s in "abc" for i in range(10)], "source": [s for s in "abc" for _ in range(10)]}
    )
    subset = spread_subset(table, 9)
    assert len(subset) == 9 and subset["source"].value_counts().to_dict() == {"a": 3, "b": 3, "c": 3}
    assert subset.equals(spread_subset(table, 9)) and spread_subset(table, None) is table
    assert len(spread_subset(table, 100)) == 30


def test_exif_orientation_is_applied_and_only_photo_formats_are_read(tmp_path):
    from PIL import Image

    from coarse2fine.imaging.photos import ImageReadError, open_rgb

    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 20, 20))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: a viewer rotates 90 degrees clockwise
    path = tmp_path / "phone.jpg"
    image.save(path, exif=exif, quality=95)
    shown = open_rgb(path)
    assert shown.size == (20, 40)  # rotated
    assert shown.getpixel((10, 5))[0] > 200 and shown.getpixel((10, 35))[0] < 50  # white on top
    eps = tmp_path / "figure.jpg"  # a PostScript file under a photo's name is not opened
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(ImageReadError, match="not an image in an accepted format"):
        open_rgb(eps)
