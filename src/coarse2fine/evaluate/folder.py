"""`c2f eval DIR`: every image of a folder coded and decoded at every level with one model,
averaged per level (like CompressAI's eval_model).

Per level: bits per pixel of the file cut after that level, PSNR and MS-SSIM of the decoded
picture against the coded view, the time to encode (the whole stream, once per image) and to
decode that level, and top-1 agreement: the share of images whose class prediction from the
decoded picture is the reference classifier's prediction on the uncompressed view (needs no
label). Images of any size; each is coded as `view` gives it (native by default).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from coarse2fine.classify.classifiers import classifier_view, load_quietly
from coarse2fine.coding import decode_bitstream, encode_image, parse_bitstream, truncate_to_level
from coarse2fine.evaluate.metrics import ms_ssim_value, psnr
from coarse2fine.imaging.photos import IMAGE_SUFFIXES, ImageReadError, image_to_tensor, list_images
from coarse2fine.imaging.view import StudyView, open_view

METRICS = ("bpp", "psnr", "ms_ssim", "encode_s", "decode_s", "top1_agreement")


def _predict(classifier, view, image: torch.Tensor) -> int:
    with torch.no_grad():
        return int(classifier(view.classifier_input(image, classifier.input_size)).argmax(1)[0])


def measure_image(path: Path, codec, classifier, view: StudyView, max_pixels: int | None) -> list[dict]:
    """Every level of one image: its rows (see the module docstring). ImageReadError or
    ValueError for an image that cannot be read."""
    x = image_to_tensor(open_view(path, view, max_pixels))
    class_view = classifier_view(codec)
    height, width = x.shape[-2:]
    start = time.perf_counter()
    data = encode_image(codec, x, max_pixels)
    encode_s = time.perf_counter() - start
    stream = parse_bitstream(data)
    reference = _predict(classifier, class_view, x) if classifier else None
    rows = []
    for level, size in enumerate(stream.segment_sizes(), 1):
        start = time.perf_counter()
        decoded = decode_bitstream(codec, truncate_to_level(data, level), level, max_pixels)
        decode_s = time.perf_counter() - start
        row = {
            "image": str(path),
            "width": int(width),
            "height": int(height),
            "level": level,
            "bpp": size * 8 / (width * height),
            "psnr": psnr(x, decoded.image),
            "ms_ssim": ms_ssim_value(x, decoded.image),
            "encode_s": encode_s,
            "decode_s": decode_s,
        }
        if classifier:
            row["top1_agreement"] = float(_predict(classifier, class_view, decoded.image) == reference)
        rows.append(row)
    return rows


def _measure_or_skip(path: Path, codec, classifier, view, max_pixels) -> tuple[list[dict], dict | None]:
    try:
        return measure_image(path, codec, classifier, view, max_pixels), None
    except (ImageReadError, ValueError) as exc:
        return [], {"image": str(path), "reason": str(exc)}


# A worker process of `c2f eval --workers N`: its own codec and classifier, loaded once.
_WORKER: dict = {}


def _start_worker(model: str, classifier_name: str | None, view: StudyView, max_pixels, threads: int) -> None:
    from coarse2fine.coding import load_codec

    torch.set_num_threads(threads)
    _WORKER.update(
        codec=load_codec(Path(model)),
        classifier=load_quietly(classifier_name) if classifier_name else None,
        view=view,
        max_pixels=max_pixels,
    )


def _worker_measure(path: Path):
    w = _WORKER
    return _measure_or_skip(path, w["codec"], w["classifier"], w["view"], w["max_pixels"])


def evaluate_folder(
    folder: Path,
    codec,
    classifier_name: str | None = "efficientnet_lite0",
    view: StudyView = StudyView(None),
    max_pixels: int | None = None,
    progress=None,
    workers: int = 1,
    model: Path | None = None,
) -> dict:
    """Per-image rows and the per-level means (see the module docstring); unreadable images are
    listed under `skipped` with the reason, never silently dropped. With workers > 1 the images
    are shared among that many processes, each loading the checkpoint `model` once and using
    its share of this process's threads; every image is measured as it would be alone, so the
    rows are the same (times apart)."""
    images = list_images(Path(folder))
    if not images:
        raise ValueError(f"{folder}: no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    if workers > 1 and model is None:
        raise ValueError("workers > 1 needs the checkpoint path (model) for the worker processes")
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, torch.get_num_threads() // workers)
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a process holding torch threads
            initializer=_start_worker,
            initargs=(str(model), classifier_name, view, max_pixels, threads),
        )
        with pool:
            results = pool.map(_worker_measure, images)
            measured = list(progress(results, total=len(images)) if progress else results)
    else:
        classifier = load_quietly(classifier_name) if classifier_name else None
        measured = [
            _measure_or_skip(path, codec, classifier, view, max_pixels)
            for path in (progress(images) if progress else images)
        ]
    rows = [row for image_rows, _ in measured for row in image_rows]
    skipped = [reason for _, reason in measured if reason is not None]
    levels = sorted({r["level"] for r in rows})
    summary = []
    for level in levels:
        at = [r for r in rows if r["level"] == level]
        summary.append(
            {
                "level": level,
                "images": len(at),
                **{m: float(np.nanmean([r.get(m, np.nan) for r in at])) for m in METRICS if any(m in r for r in at)},
            }
        )
    return {"folder": str(folder), "classifier": classifier_name, "levels": summary, "images": rows, "skipped": skipped}


def summary_table(result: dict) -> str:
    header = ["level", "images", "bpp", "PSNR dB", "MS-SSIM", "encode s", "decode s", "top-1 agreement %"]
    lines = ["  ".join(f"{h:>10}" for h in header)]
    for s in result["levels"]:
        agreement = f"{100 * s['top1_agreement']:.1f}" if "top1_agreement" in s else "-"
        cells = [
            s["level"],
            s["images"],
            f"{s['bpp']:.4f}",
            f"{s['psnr']:.2f}",
            f"{s['ms_ssim']:.4f}",
            f"{s['encode_s']:.3f}",
            f"{s['decode_s']:.3f}",
            agreement,
        ]
        lines.append("  ".join(f"{c:>10}" for c in cells))
    for item in result["skipped"]:
        lines.append(f"skipped {item['image']}: {item['reason']}")
    return "\n".join(lines)
