"""The confirmation on a folder of labelled photos (data/build.py's labelled_folder,
workflow/rules/confirm.smk): labels read from a wnid folder, a wnid file-name prefix or the ILSVRC
val ground truth; images without a label or unreadable listed and left out; a folder with no
usable label refused by name; the frozen models scored without retraining anything."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from coarse2fine.data.build import DatasetError, build_manifest, package_data_dir
from coarse2fine.hierarchy.classes import class_table, val_ground_truth
from conftest import REPO

FOOLBOX = re.compile(r"^imagenet_\d+_(\d+)\.(jpg|png)$")


def labelled_photos(folder: Path, count: int = 6) -> dict[str, int]:
    """A folder of the sample's ground-truth photos (foolbox's ImageNet images) named the ways a
    user's photos come: a wnid folder, a wnid_name prefix, an ILSVRC val file. Returns the
    expected label of each relative path."""
    wnids = class_table()["wnid"].tolist()
    photos = sorted(p for p in (package_data_dir("foolbox") / "data").iterdir() if FOOLBOX.match(p.name))[:count]
    expected = {}
    for i, photo in enumerate(photos):
        label = int(FOOLBOX.match(photo.name).group(1))
        if i % 3 == 0:
            rel = f"{wnids[label]}/{photo.name}"
        elif i % 3 == 1:
            rel = f"{wnids[label]}_{photo.stem}{photo.suffix}"
        else:
            stem = f"ILSVRC2012_val_{i:08d}"
            rel, label = f"{stem}{photo.suffix}", val_ground_truth()[stem]  # the official label, whatever the picture
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photo, folder / rel)
        expected[rel] = label
    return expected


def test_a_labelled_folder_reads_every_label_form_and_lists_what_it_leaves_out(tmp_path):
    folder = tmp_path / "photos"
    expected = labelled_photos(folder)
    shutil.copyfile(folder / next(iter(expected)), folder / "holiday.jpg")  # no label
    (folder / "n01440764_broken.jpg").write_bytes(b"not a jpeg")  # unreadable
    manifest = tmp_path / "out" / "manifest.csv"
    table = build_manifest({"name": "confirm", "kind": "labelled_folder", "folder": {"path": str(folder)}}, manifest)
    assert dict(zip(table["path"], table["label_idx"].astype(int))) == expected
    assert set(table["label_source"]) == {"ground_truth"} and set(table["split"]) == {"test"}
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["unlabelled_files"] == ["holiday.jpg"]
    assert info["unreadable"] == 1 and "n01440764_broken.jpg" in info["unreadable_files"][0]


def test_a_folder_with_no_usable_label_is_refused_naming_it(tmp_path):
    folder = tmp_path / "holiday"
    folder.mkdir()
    photo = next(p for p in (package_data_dir("foolbox") / "data").iterdir() if FOOLBOX.match(p.name))
    shutil.copyfile(photo, folder / "beach.jpg")
    with pytest.raises(DatasetError, match=r"holiday: 1 images, none with a usable label(.|\n)*n01440764"):
        build_manifest({"name": "c", "kind": "labelled_folder", "folder": {"path": str(folder)}}, tmp_path / "m.csv")
    with pytest.raises(DatasetError, match="not a directory"):
        build_manifest(
            {"name": "c", "kind": "labelled_folder", "folder": {"path": str(tmp_path / "nope")}}, tmp_path / "m.csv"
        )


def test_the_confirm_target_plans_no_training_job_and_asks_for_a_folder():
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "snakemake", "--nolock", "-n", "confirm", "--configfile", "config/config.yaml"]
    missing = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode != 0 and "needs a folder of labelled photos" in missing.stdout + missing.stderr


@pytest.mark.slow
def test_the_frozen_models_are_confirmed_on_a_labelled_folder(tmp_path):
    """config/test.yaml's DAG in a copy of the working tree: its models trained once, then
    `snakemake confirm` on a labelled folder retrains nothing and writes the claim table."""
    work = tmp_path / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in files:
        if (REPO / rel).is_file():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, work / rel)
    folder = tmp_path / "photos"
    labelled_photos(folder, count=6)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    def snakemake(*targets, confirm=True, dry=False):
        # targets first: --configfile and --config take every word after them
        cmd = [sys.executable, "-m", "snakemake", *targets, "--cores", "2", *(["-n"] if dry else [])]
        cmd += ["--configfile", "config/test.yaml"]
        if confirm:
            cmd += ["--config", f"confirm={{folder: {folder}, name: mine}}"]
        return subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env, timeout=900)

    trained = snakemake("stage_training", confirm=False)
    assert trained.returncode == 0, trained.stderr[-3000:]
    plan = snakemake("confirm", dry=True)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "train_codec" not in plan.stdout and "confirm_learned_views" in plan.stdout
    run = snakemake("confirm")
    assert run.returncode == 0, run.stderr[-3000:]
    tables = work / "results" / "confirm" / "mine" / "tables" / "paper_clip_kmeans"
    per_image = pd.read_csv(tables / "per_image.csv")
    assert per_image["image"].nunique() == 6 and set(per_image["label_source"]) == {"ground_truth"}
    assert {"c2f", "rd_only", "uncompressed"} <= set(per_image["codec"])
    claim = (tables / "claim" / "c2f" / "claim.md").read_text()
    assert "6 held-out images" in claim and "balanced top-1" in claim and "Verdict at the coarse levels" in claim
