"""Dataset manifests: one CSV per dataset, one row per image.

Columns: path (relative to the dataset root), sha256, width, height, label_idx (ImageNet-1K
index, empty when unknown), label_source (ground_truth | teacher | empty), split
(train | val | test), source (where the photo came from). The dataset root is recorded in
`dataset.json` beside the manifest, so a manifest can index images that stay where they are
(a local ImageNet tree) or that the pipeline copied (the sample).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

COLUMNS = ["path", "sha256", "width", "height", "label_idx", "label_source", "split", "source"]
SPLITS = ("train", "val", "test")
LABEL_SOURCES = ("ground_truth", "teacher")


class ManifestError(ValueError):
    """A manifest that does not follow the documented layout."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(table: pd.DataFrame, manifest_path: Path, root: Path, info: dict | None = None) -> None:
    manifest_path = Path(manifest_path)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    table = table[COLUMNS].copy()
    table["label_idx"] = table["label_idx"].astype("Int64")
    tmp = manifest_path.with_suffix(".csv.tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(manifest_path)
    meta = {"root": str(Path(root).resolve() if not _is_beside(root, manifest_path) else "."), **(info or {})}
    (manifest_path.parent / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n")


def _is_beside(root: Path, manifest_path: Path) -> bool:
    return Path(root).resolve() == Path(manifest_path).parent.resolve()


def read_manifest(manifest_path: Path, splits: tuple[str, ...] | None = None) -> tuple[pd.DataFrame, Path]:
    """The manifest as a DataFrame (optionally only some splits) and the dataset root."""
    manifest_path = Path(manifest_path)
    if not manifest_path.is_file():
        raise ManifestError(f"manifest not found: {manifest_path}")
    table = pd.read_csv(
        manifest_path, dtype={"path": str, "sha256": str, "label_source": str, "split": str, "source": str}
    )
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ManifestError(f"{manifest_path}: missing columns {missing}")
    table["label_idx"] = table["label_idx"].astype("Int64")
    table["label_source"] = table["label_source"].fillna("")
    bad = sorted(set(table["split"]) - set(SPLITS))
    if bad:
        raise ManifestError(f"{manifest_path}: unknown split values {bad}")
    meta_path = manifest_path.parent / "dataset.json"
    root_text = json.loads(meta_path.read_text())["root"] if meta_path.exists() else "."
    root = Path(root_text)
    if not root.is_absolute():
        root = manifest_path.parent / root
    if splits is not None:
        table = table[table["split"].isin(splits)].reset_index(drop=True)
    return table, root


def spread_subset(table: pd.DataFrame, max_images: int | None) -> pd.DataFrame:
    """At most `max_images` rows, evenly spaced through the manifest's order (which groups
    images by source), so a subset keeps every source in proportion; the same rows every time,
    so the bitstreams and the evaluation of a subset see the same images. None: every row."""
    if max_images is None or len(table) <= int(max_images):
        return table
    if int(max_images) < 1:
        raise ValueError(f"max_images must be >= 1 or null, got {max_images}")
    positions = sorted({round(i * (len(table) - 1) / max(int(max_images) - 1, 1)) for i in range(int(max_images))})
    return table.iloc[positions]
