"""Decoded views of every evaluated image, measured and classified (the expensive half).

A provider turns one original image into decoded views, one per (codec, rate point, level):
the uncompressed reference, the classical anchors, or a learned codec's bitstream prefixes.
For each view we measure PSNR, MS-SSIM and bpp against the original at full resolution,
optionally CPIPS (settings key `cpips`: a codec checkpoint; `evaluate.cpips`, on the evaluation
view; 0 for the reference; no column when the key is absent or null), and keep the logits of
every classifier. Every image is first put in the study's view (settings key `view`,
data/view.py: the photo squashed to size x size, as every codec and anchor codes it; PSNR,
MS-SSIM and bpp are measured on it), and each classifier sees its `classifier_input` (the centre
crop, resized to its input), the same function the task loss uses. The prob-sum cluster
predictions come later (`evaluate.table`), so one hierarchy more costs no classifier pass.

Output folder: views.csv (one row per image x view), logits.npz (one (rows, 1000) float32
array per classifier, rows in views.csv order), classifiers.json (used and skipped, with the
reason), recon/ (the evaluation crops of the first few images, for the reconstruction grid;
views.csv names each in its recon_file column, relative to recon/).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import torch
from PIL import Image

from coarse2fine.classify import ClassifierUnavailable, load_classifier
from coarse2fine.data.images import image_to_tensor
from coarse2fine.data.view import StudyView, open_view
from coarse2fine.data.manifest import read_manifest, spread_subset
from coarse2fine.evaluate.anchors import build_anchor
from coarse2fine.evaluate.cpips import CPIPS
from coarse2fine.files import png_bytes, write_atomic
from coarse2fine.evaluate.metrics import bits_per_pixel, ms_ssim_value, psnr

log = logging.getLogger("coarse2fine.evaluate")

REFERENCE_CODEC = "uncompressed"
EVAL_SPLITS = ("val", "test")


@dataclass
class DecodedView:
    """One decoded version of an image. `level` is the semantic level a learned codec's prefix
    decodes to (1 = coarsest); None for a stream that is not split by level (anchors)."""

    codec: str
    rate_point: str
    level: int | None
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], the original's size
    num_bytes: int | None  # None for the uncompressed reference
    bpp_estimated: float = math.nan


# A provider: (image path as in the manifest, original RGB image) -> decoded views.
Provider = Callable[[str, Image.Image], Iterable[DecodedView]]


def reference_provider(path: str, image: Image.Image) -> Iterator[DecodedView]:
    yield DecodedView(REFERENCE_CODEC, "original", None, image_to_tensor(image), None)


def anchor_provider(name: str, settings: dict | None = None) -> Provider:
    anchor = build_anchor(name, settings)

    def provide(path: str, image: Image.Image) -> Iterator[DecodedView]:
        for view in anchor.views(image):
            yield DecodedView(name, view.rate_point, None, image_to_tensor(view.decoded), view.num_bytes)

    return provide


def build_provider(spec: dict) -> Provider:
    """From settings: {"kind": "reference"} | {"kind": "anchor", "name": .., "settings": {..}} |
    {"kind": "learned", "codec": .., "rate_point": .., "decoded": dir of decoded PNGs, "sizes": csv}."""
    kind = spec.get("kind")
    if kind == "reference":
        return reference_provider
    if kind == "anchor":
        return anchor_provider(spec["name"], spec.get("settings"))
    if kind == "learned":
        from coarse2fine.evaluate.learned import learned_provider

        return learned_provider(spec)
    raise ValueError(f"unknown provider kind {kind!r} (reference | anchor | learned)")


def load_classifiers(names: list[str]) -> tuple[dict, dict]:
    """Classifiers that can be had here, and {name: reason} for those skipped."""
    loaded, skipped = {}, {}
    for name in names:
        try:
            loaded[name] = load_classifier(name)
        except ClassifierUnavailable as exc:
            log.warning("classifier %s skipped: %s", name, exc)
            skipped[name] = str(exc)
    if not loaded:
        raise RuntimeError(f"no classifier could be loaded from {names}: {skipped}")
    return loaded, skipped


@torch.no_grad()
def classify_views(views: list[DecodedView], classifiers: dict, view: StudyView) -> dict[str, np.ndarray]:
    """Logits (len(views), 1000) per classifier; one batch per image and classifier."""
    out = {}
    for name, model in classifiers.items():
        batch = torch.cat([view.classifier_input(v.image, model.input_size) for v in views])
        out[name] = model(batch).float().numpy()
    return out


def save_reconstruction(view: DecodedView, path: Path) -> None:
    """The decoded picture as coded (the study's view), 8-bit."""
    array = (view.image[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    write_atomic(path, png_bytes(Image.fromarray(array)))


def evaluate_views(table: pd.DataFrame, root: Path, provider: Provider, classifiers: dict,
                   recon_dir: Path | None = None, reconstructions: int = 0,
                   cpips: CPIPS | None = None, study_view: StudyView = StudyView()) -> tuple[pd.DataFrame, dict]:
    """Rows (one per image x view) with image metrics, and the logits per classifier; a `cpips`
    column when a CPIPS metric is given. `original` everywhere is the study's view of the photo."""
    rows, logits = [], {name: [] for name in classifiers}
    for i, item in enumerate(table.itertuples(index=False)):
        original = open_view(Path(root) / item.path, study_view)
        x = image_to_tensor(original)
        stem = Path(item.path).stem
        views = list(provider(item.path, original))
        cpips_features = None if cpips is None else cpips.features(x)  # the original's, once per image
        for view in views:
            if view.image.shape != x.shape:
                raise ValueError(f"{item.path}: {view.codec} {view.rate_point} decoded to {tuple(view.image.shape)}, original is {tuple(x.shape)}")
            reference = view.num_bytes is None
            rows.append({
                "image": item.path, "split": item.split, "label_idx": item.label_idx,
                "label_source": item.label_source, "height": original.height, "width": original.width,
                "codec": view.codec, "rate_point": view.rate_point, "level": view.level,
                "bytes": view.num_bytes,
                "bpp_actual": math.nan if reference else bits_per_pixel(view.num_bytes, original.height, original.width),
                "bpp_estimated": view.bpp_estimated,
                # The reference is the original: PSNR would be infinite; report it as undefined.
                "psnr": math.nan if reference else psnr(x, view.image),
                "ms_ssim": 1.0 if reference else ms_ssim_value(x, view.image),
            })
            if cpips is not None:
                rows[-1]["cpips"] = 0.0 if reference else cpips.feature_distance(cpips_features, cpips.features(view.image))
            if recon_dir is not None and i < reconstructions:
                level = "" if view.level is None else f"_level{view.level}"
                name = f"{stem}/{view.codec}_{view.rate_point}{level}.png"
                save_reconstruction(view, Path(recon_dir) / name)
                rows[-1]["recon_file"] = name
        for name, value in classify_views(views, classifiers, study_view).items():
            logits[name].append(value)
        if (i + 1) % 10 == 0 or i + 1 == len(table):
            log.info("%d/%d images", i + 1, len(table))
    frame = pd.DataFrame(rows)
    if "recon_file" not in frame:
        frame["recon_file"] = None
    frame["level"] = frame["level"].astype("Int64") if len(frame) else frame.get("level")
    return frame, {k: np.concatenate(v) if v else np.zeros((0, 1000), np.float32) for k, v in logits.items()}


def run(settings: dict, manifest: Path, output_dir: Path) -> pd.DataFrame:
    torch.set_num_threads(int(settings.get("threads", 1)))
    splits = tuple(settings.get("splits", EVAL_SPLITS))
    if "train" in splits:
        raise ValueError("the train split is used for training and is never evaluated")
    table, root = read_manifest(manifest, splits=splits)
    if settings.get("max_images"):
        table = spread_subset(table, int(settings["max_images"]))
    if table.empty:
        raise ValueError(f"{manifest}: no images in splits {splits}")
    provider = build_provider(settings["provider"])
    classifiers, skipped = load_classifiers(list(settings["classifiers"]))
    cpips = CPIPS.from_checkpoint(settings["cpips"]) if settings.get("cpips") else None
    output_dir = Path(output_dir)
    (output_dir / "recon").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    study_view = StudyView.from_settings(settings.get("view"))
    frame, logits = evaluate_views(table, root, provider, classifiers, output_dir / "recon", int(settings.get("reconstructions", 0)),
                                   cpips, study_view)
    seconds = time.perf_counter() - start
    frame.to_csv(output_dir / "views.csv", index=False)
    np.savez_compressed(output_dir / "logits.npz", **logits)
    (output_dir / "classifiers.json").write_text(json.dumps({
        "used": {n: m.input_size for n, m in classifiers.items()}, "skipped": skipped,
        "images": len(table), "views": len(frame), "seconds": round(seconds, 2),
        "cpips": settings.get("cpips") or None, "view": study_view.to_settings()}, indent=2) + "\n")
    log.info("%d images, %d views, %d classifiers in %.1f s", len(table), len(frame), len(classifiers), seconds)
    return frame


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Decode, measure and classify every evaluated image for one provider.")
    parser.add_argument("--settings", required=True, help="JSON: provider, classifiers, splits, reconstructions, threads, max_images, cpips, view")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(json.loads(args.settings), args.manifest, args.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
