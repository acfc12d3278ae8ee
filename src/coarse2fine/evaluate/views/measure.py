"""The one measuring loop: every evaluated image through a provider, each decoded view measured
(PSNR, MS-SSIM, bpp from actual bytes; CPIPS when a metric is given) and classified.

Every image is first put in the study's view (imaging/view.py: the photo squashed to size x size,
as every codec and anchor codes it; PSNR, MS-SSIM and bpp are measured on it), and each
classifier sees its `classifier_input` (the centre crop, resized to its input), the same
function the task loss uses. The prob-sum cluster predictions come later (`evaluate tables`),
so one hierarchy more costs no classifier pass.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from coarse2fine.classify import ClassifierUnavailable, load_classifier
from coarse2fine.classify.levels import NUM_CLASSES
from coarse2fine.evaluate.views.cpips import CPIPS
from coarse2fine.evaluate.views.image_metrics import bits_per_pixel, ms_ssim_value, psnr
from coarse2fine.evaluate.views.providers import DecodedView, Provider
from coarse2fine.files import png_bytes, write_atomic
from coarse2fine.imaging.photos import ImageReadError, image_to_tensor
from coarse2fine.imaging.view import StudyView, open_view

log = logging.getLogger("coarse2fine.evaluate")


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


def image_measures(x: torch.Tensor, view: DecodedView, height: int, width: int) -> dict:
    reference = view.num_bytes is None
    return {
        "bytes": view.num_bytes,
        "bpp_actual": math.nan if reference else bits_per_pixel(view.num_bytes, height, width),
        "bpp_estimated": view.bpp_estimated,
        # The reference is the original: PSNR would be infinite; report it as undefined.
        "psnr": math.nan if reference else psnr(x, view.image),
        "ms_ssim": 1.0 if reference else ms_ssim_value(x, view.image),
    }


@torch.no_grad()
def measure_views(
    table: pd.DataFrame,
    root: Path,
    provider: Provider,
    study_view: StudyView = StudyView(),
    *,
    classifiers: dict | None = None,
    cpips: CPIPS | None = None,
    image_metrics: bool = True,
    recon_dir: Path | None = None,
    reconstructions: int = 0,
    classifier_view: StudyView | None = None,
    max_pixels: int | None = None,
    timings: bool = False,
    skipped: list | None = None,
) -> tuple[pd.DataFrame, dict]:
    """One row per image x view (the manifest's columns, the view's key, the image metrics if
    asked, `cpips` if a metric is given, the provider's seconds if `timings`) and the logits per
    classifier, rows in the same order. Classifiers see `classifier_view`'s input (default: the
    study view's). With a `skipped` list, an image that cannot be read or coded is listed there
    ({"image", "reason"}) and left out; without one, it raises."""
    classifiers = classifiers or {}
    classifier_view = classifier_view or study_view
    rows, logits = [], {name: [] for name in classifiers}
    for i, item in enumerate(table.itertuples(index=False)):
        try:
            original, x, views = _decoded(root, item.path, provider, study_view, max_pixels)
        except (ImageReadError, ValueError) as exc:
            if skipped is None:
                raise
            skipped.append({"image": str(Path(root) / item.path), "reason": str(exc)})
            continue
        cpips_features = None if cpips is None else cpips.features(x)  # the original's, once per image
        for view in views:
            row = _view_row(item, original, view)
            if image_metrics:
                row.update(image_measures(x, view, original.height, original.width))
            if cpips is not None:
                row["cpips"] = (
                    0.0
                    if view.num_bytes is None
                    else cpips.feature_distance(cpips_features, cpips.features(view.image))
                )
            if timings:
                row.update(view.seconds)
            if recon_dir is not None and i < reconstructions:
                level = "" if view.level is None else f"_level{view.level}"
                row["recon_file"] = f"{Path(item.path).stem}/{view.codec}_{view.rate_point}{level}.png"
                save_reconstruction(view, Path(recon_dir) / row["recon_file"])
            rows.append(row)
        for name, value in classify_views(views, classifiers, classifier_view).items():
            logits[name].append(value)
        if (i + 1) % 10 == 0 or i + 1 == len(table):
            log.info("%d/%d images", i + 1, len(table))
    frame = pd.DataFrame(rows)
    if recon_dir is not None and "recon_file" not in frame:
        frame["recon_file"] = None
    if len(frame):
        frame["level"] = frame["level"].astype("Int64")
    return frame, {k: np.concatenate(v) if v else np.zeros((0, NUM_CLASSES), np.float32) for k, v in logits.items()}


def _decoded(root: Path, path: str, provider: Provider, study_view: StudyView, max_pixels: int | None):
    """(the original in the study's view, as a tensor, its decoded views), each view checked to
    be the original's size."""
    original = open_view(Path(root) / path, study_view, max_pixels)
    x = image_to_tensor(original)
    views = list(provider(path, original))
    for view in views:
        if view.image.shape != x.shape:
            raise ValueError(
                f"{path}: {view.codec} {view.rate_point} decoded to {tuple(view.image.shape)}, "
                f"original is {tuple(x.shape)}"
            )
    return original, x, views


def _view_row(item, original, view: DecodedView) -> dict:
    return {
        "image": item.path,
        "split": item.split,
        "label_idx": item.label_idx,
        "label_source": item.label_source,
        "source": getattr(item, "source", ""),  # where the photo came from (the breakdown)
        "height": original.height,
        "width": original.width,
        "codec": view.codec,
        "rate_point": view.rate_point,
        "level": view.level,
    }
