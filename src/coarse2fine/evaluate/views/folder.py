"""`c2f eval DIR`: every image of a folder coded and decoded at every level with one model,
averaged per level (like CompressAI's eval_model), through the study's one measuring loop
(measure.py) with the model as a coding provider (providers/coded.py).

Per level: bits per pixel of the file cut after that level, PSNR and MS-SSIM of the decoded
picture (8-bit, as a decoded file holds it) against the coded view, the time to encode (the
whole stream, once per image) and to decode that level, and top-1 agreement: the share of
images whose class prediction from the decoded picture is the reference classifier's prediction
on the uncompressed view (needs no label). Images of any size; each is coded as `view` gives it
(native by default).

A metric that is undefined for an image (MS-SSIM below 33 pixels on the shorter side; PSNR of
a picture identical to its original, infinite) is null in that image's row, with the reason
under `not_applicable`; a level's mean is over the images that define it (`<metric>_images`
counts them), null with the reason when none does. No NaN or infinity reaches the JSON.
`compressai_results` gives the same means in CompressAI's results format (the one its
`compressai.utils.eval_model` writes and `compressai.utils.plot` reads), one entry per level.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from coarse2fine.classify.classifiers import classifier_view, load_quietly
from coarse2fine.imaging.photos import IMAGE_SUFFIXES, list_images
from coarse2fine.imaging.view import StudyView

from .measure import measure_views
from .providers.coded import coding_provider
from .providers.reference import reference_provider
from .view_files import REFERENCE_CODEC

METRICS = ("bpp", "psnr", "ms_ssim", "encode_s", "decode_s", "top1_agreement")


def measure_images(
    folder: Path, images: list[Path], codec, classifier, view: StudyView, max_pixels: int | None
) -> tuple[list[dict], list[dict]]:
    """(rows, skipped) of these images of `folder`: every level of each (see the module
    docstring); an image that cannot be read or coded is skipped with its reason."""
    coded = coding_provider(codec, "model", "", max_pixels)

    def provider(path, image):
        yield from reference_provider(path, image)  # the classifier's answer on the uncompressed view
        yield from coded(path, image)

    table = pd.DataFrame(
        {"path": [str(p.relative_to(folder)) for p in images], "split": "", "label_idx": np.nan, "label_source": ""}
    )
    skipped: list[dict] = []
    frame, logits = measure_views(
        table,
        folder,
        provider,
        view,
        classifiers={"reference": classifier} if classifier else {},
        classifier_view=classifier_view(codec),
        max_pixels=max_pixels,
        timings=True,
        skipped=skipped,
    )
    if frame.empty:
        return [], skipped
    frame["image"] = [str(Path(folder) / image) for image in frame["image"]]
    if classifier:
        predicted = pd.Series(logits["reference"].argmax(1), index=frame.index)
        uncompressed = predicted[frame["codec"] == REFERENCE_CODEC].set_axis(
            frame.loc[frame["codec"] == REFERENCE_CODEC, "image"]
        )
        frame["top1_agreement"] = (predicted == frame["image"].map(uncompressed)).astype(float)
    coded_rows = frame[frame["codec"] != REFERENCE_CODEC].rename(columns={"bpp_actual": "bpp"})
    columns = ["image", "width", "height", "level", *[m for m in METRICS if m in coded_rows]]
    rows = coded_rows[columns].astype({"level": int, "width": int, "height": int}).to_dict(orient="records")
    return [_applicable(row) for row in rows], skipped


def _not_applicable(metric: str, value: float, row: dict) -> str:
    """Why `metric` has no value for this image (its value NaN or infinite)."""
    if metric == "ms_ssim":
        return (
            f"MS-SSIM needs a shorter side of at least 33 pixels for its 5 scales "
            f"(this image is {row['width']}x{row['height']})"
        )
    if metric == "psnr" and value == math.inf:
        return "the decoded picture is identical to the original (PSNR infinite)"
    return f"{metric} is undefined for this image ({value})"


def _applicable(row: dict) -> dict:
    """The row with undefined metrics as None and their reasons under `not_applicable`."""
    reasons = {}
    for metric in METRICS:
        value = row.get(metric)
        if isinstance(value, float) and not math.isfinite(value):
            reasons[metric] = _not_applicable(metric, value, row)
            row[metric] = None
    if reasons:
        row["not_applicable"] = reasons
    return row


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


def _worker_measure(folder_and_image: tuple[Path, Path]):
    w = _WORKER
    folder, image = folder_and_image
    return measure_images(folder, [image], w["codec"], w["classifier"], w["view"], w["max_pixels"])


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
    folder = Path(folder)
    images = list_images(folder)
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
            results = pool.map(_worker_measure, [(folder, image) for image in images])
            measured = list(progress(results, total=len(images)) if progress else results)
    else:
        classifier = load_quietly(classifier_name) if classifier_name else None
        measured = [
            measure_images(folder, [image], codec, classifier, view, max_pixels)
            for image in (progress(images) if progress else images)
        ]
    rows = [row for image_rows, _ in measured for row in image_rows]
    skipped = [reason for _, reasons in measured for reason in reasons]
    return {
        "folder": str(folder),
        "classifier": classifier_name,
        "levels": level_means(rows),
        "images": rows,
        "skipped": skipped,
    }


def level_means(rows: list[dict]) -> list[dict]:
    """Per level: the images measured and the mean of every metric over the images that define
    it; a metric no image defines is None, its reason under `not_applicable`."""
    summary = []
    for level in sorted({r["level"] for r in rows}):
        at = [r for r in rows if r["level"] == level]
        entry: dict = {"level": level, "images": len(at)}
        reasons = {}
        for metric in METRICS:
            if not any(metric in r for r in at):
                continue
            values = [r[metric] for r in at if r.get(metric) is not None]
            entry[metric] = float(np.mean(values)) if values else None
            if len(values) < len(at):
                entry[f"{metric}_images"] = len(values)
            if not values:
                reasons[metric] = next(r["not_applicable"][metric] for r in at if metric in r.get("not_applicable", {}))
                reasons[metric] = f"undefined for every image; for example: {reasons[metric]}"
        if reasons:
            entry["not_applicable"] = reasons
        summary.append(entry)
    return summary


# CompressAI's names for the metrics its eval_model writes and its plot utility reads
COMPRESSAI_KEYS = {
    "bpp": ("bpp",),
    "psnr": ("psnr-rgb",),
    # ms-ssim-rgb is what eval_model writes and plot reads; older results files name it ms-ssim
    "ms_ssim": ("ms-ssim-rgb", "ms-ssim"),
    "encode_s": ("encoding_time",),
    "decode_s": ("decoding_time",),
}


def compressai_results(result: dict, name: str, description: str) -> dict:
    """`{"name", "description", "results"}` as CompressAI's `eval_model` writes them: per
    metric a list with one entry per level (the level means, averaged over images as
    eval_model averages them), ready for `python -m compressai.utils.plot -f FILE`. A metric
    that some level leaves undefined is left out (the plot utility reads numbers only), and
    the description says which and why."""
    levels = result["levels"]
    results, left_out = {}, []
    for ours, names in COMPRESSAI_KEYS.items():
        theirs = names[0]
        values = [level.get(ours) for level in levels]
        if values and all(v is not None for v in values):
            results.update({name: values for name in names})
        elif any(ours in level for level in levels):
            left_out.append(f"{theirs} left out: {next(iter(_reasons(levels, ours)), 'undefined')}")
        partial = [level[f"{ours}_images"] for level in levels if f"{ours}_images" in level]
        if theirs in results and partial:
            left_out.append(f"{theirs} over the {min(partial)} of {levels[0]['images']} images that define it")
    note = f"; {'; '.join(left_out)}" if left_out else ""
    return {"name": name, "description": f"{description}{note}", "results": results}


def _reasons(levels: list[dict], metric: str):
    for level in levels:
        reason = level.get("not_applicable", {}).get(metric)
        if reason:
            yield reason


def summary_table(result: dict) -> str:
    header = ["level", "images", "bpp", "PSNR dB", "MS-SSIM", "encode s", "decode s", "top-1 agreement %"]
    lines = ["  ".join(f"{h:>10}" for h in header)]

    def cell(s: dict, metric: str, form: str, scale: float = 1.0) -> str:
        value = s.get(metric)
        return "n/a" if value is None else format(value * scale, form)

    notes = []
    for s in result["levels"]:
        agreement = cell(s, "top1_agreement", ".1f", 100) if "top1_agreement" in s else "-"
        cells = [
            s["level"],
            s["images"],
            cell(s, "bpp", ".4f"),
            cell(s, "psnr", ".2f"),
            cell(s, "ms_ssim", ".4f"),
            cell(s, "encode_s", ".3f"),
            cell(s, "decode_s", ".3f"),
            agreement,
        ]
        lines.append("  ".join(f"{c:>10}" for c in cells))
        for metric, reason in s.get("not_applicable", {}).items():
            notes.append(f"level {s['level']} {metric}: n/a, {reason}")
        for metric in METRICS:
            if f"{metric}_images" in s:
                notes.append(f"level {s['level']} {metric}: mean over {s[f'{metric}_images']} of {s['images']} images")
    lines.extend(dict.fromkeys(notes))
    for item in result["skipped"]:
        lines.append(f"skipped {item['image']}: {item['reason']}")
    return "\n".join(lines)
