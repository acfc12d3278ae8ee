"""What a fine-tune does to its coarse prefix, step by step: its snapshots probed on the training
photos and on the held-out ones (docs/results.md, section 3).

A job trained with `snapshot_every` leaves `snapshots/step_<n>.pt` beside its output (the weights
it started from as step 0). For each snapshot, every photo of the probe's two sets, in the study's
view, goes through the codec's forward pass in eval mode (rounded latents, as coded), batched:
its level-1 reconstruction, rounded to 8 bits as a decoded stream is, is what PSNR and the
classifiers see (the evaluation's classifier input, imaging/view.py), and its rate is the
likelihood estimate of the hyper-latent and block 1 (the `bpp_estimated` of the evaluation's
tables; the cut's actual size adds the container's bytes). Not the evaluation's real streams:
a forward pass costs a fraction of coding, and docs/results.md compares the last snapshot's
numbers with the evaluation's tables of the same weights.

- `train`: the labelled training photos, the images and labels the task term trained on (seen
  here whole, in the evaluation's view, not in the training crops);
- `held_out`: the evaluation's photos (val + test), with the labels the evaluation scores against.

Per (run, step, set, classifier) the summary gives the coarse top-1 and balanced accuracy against
those labels (`evaluate.tables.cluster_prior`, the tables' own formula), the share of the photos
put in each coarse cluster, the modal share and its cluster beside the labels' own, and the
coarse prefix's estimated bpp and its PSNR.

    python -m coarse2fine.evaluate probe --run c2f=DIR/snapshots --run rd_only=DIR/snapshots \\
        --manifest data/sample/manifest.csv --hierarchy results/hierarchy/<h>/assignments.csv \\
        --output probe.csv --per-image probe_images.csv

The figures stage's `probe` command draws its tables and figure from the summary (figures/probe_report.py).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from coarse2fine.config_schema import schema_default
from coarse2fine.evaluate.tables.cluster_prior import balanced_accuracy, shares

log = logging.getLogger("coarse2fine.evaluate.probe")
BATCH = 32

SETS = {"train": ("train",), "held_out": ("val", "test")}
SNAPSHOT = re.compile(r"step_(\d+)\.pt$")
# the task term's classifier (the schema's train.classifier), on every photo, and the embedded
# default's judge (config/config.yaml's evaluate.judge; the schema has none), on the held-out ones
DEFAULT_CLASSIFIERS = {schema_default("train.classifier"): tuple(SETS), "efficientnet_lite1": ("held_out",)}


def snapshot_files(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of every snapshot in a folder, by step."""
    found = sorted((int(m.group(1)), p) for p in Path(folder).glob("step_*.pt") if (m := SNAPSHOT.search(p.name)))
    if not found:
        raise FileNotFoundError(f"{folder}: no snapshots (step_<n>.pt; train with snapshot_every > 0)")
    return found


def probe_photos(manifest: Path) -> tuple[pd.DataFrame, Path]:
    """The probe's photos with their set: the labelled training photos (the task term's: a
    training job leaves the others out) and every held-out photo (the evaluation's)."""
    from coarse2fine.data.manifest import read_manifest

    table, root = read_manifest(manifest)
    train = table[(table["split"] == "train") & table["label_idx"].notna()].assign(set="train")
    held_out = table[table["split"].isin(SETS["held_out"])].assign(set="held_out")
    photos = pd.concat([train, held_out], ignore_index=True)
    if train.empty or held_out.empty:
        raise ValueError(f"{manifest}: the probe needs labelled training photos and held-out (val, test) photos")
    return photos, root


def photo_views(photos: pd.DataFrame, root: Path, view) -> torch.Tensor:
    """Every photo in the study's view, stacked (N, 3, size, size)."""
    from coarse2fine.imaging.photos import image_to_tensor
    from coarse2fine.imaging.view import open_view

    return torch.cat([image_to_tensor(open_view(Path(root) / path, view)) for path in photos["path"]])


def _bits(likelihoods: torch.Tensor) -> torch.Tensor:
    """Each image's bits under its likelihoods."""
    return -torch.log2(likelihoods.double()).flatten(1).sum(1)


@torch.no_grad()
def coarse_prefix(codec, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the level-1 reconstruction of a batch, in 8-bit steps as a decoded image is; each image's
    estimated bits: the hyper-latent's and block 1's)."""
    from coarse2fine.models import crop_to_size, pad_to_multiple

    padded, original = pad_to_multiple(x, codec.pad_multiple)
    out = codec(padded)
    bits = _bits(out["likelihoods"]["z"]) + _bits(out["likelihoods"]["y"][0])
    return crop_to_size(out["x_hat"][0], original).clamp(0, 1).mul(255).round().div(255), bits


@torch.no_grad()
def probe_snapshot(path: Path, photos: pd.DataFrame, views, classifiers: dict, level_map) -> pd.DataFrame:
    """One row per photo: the coarse prefix's estimated bpp and PSNR, the true coarse cluster
    and each classifier's prob-sum prediction (`pred_<classifier>`; NaN on a set it does not
    score). `classifiers`: {name: (model, sets)}; `views(study_view)`: the photos in that view."""
    from coarse2fine.classify.levels import prob_sum_predictions
    from coarse2fine.evaluate.views.image_metrics import psnr
    from coarse2fine.training.checkpoint import load_codec_with_meta
    from coarse2fine.training.settings import TrainSettings

    codec, meta = load_codec_with_meta(path)  # eval mode
    view = TrainSettings.from_dict(meta["settings"]).study_view
    x = views(view)
    bits, quality, reconstructions = [], [], []
    for batch in x.split(BATCH):
        x_hat, batch_bits = coarse_prefix(codec, batch)
        bits.append(batch_bits)
        reconstructions.append(x_hat)
        quality += [psnr(batch[i : i + 1], x_hat[i : i + 1]) for i in range(len(batch))]
    x_hat = torch.cat(reconstructions)
    out = pd.DataFrame(
        {
            "step": int(meta["step"]),
            "set": photos["set"].to_numpy(),
            "image": photos["path"].to_numpy(),
            "label_idx": photos["label_idx"].to_numpy(),
            "label_source": photos["label_source"].to_numpy(),
            "bpp": (torch.cat(bits) / (x.shape[-2] * x.shape[-1])).numpy(),
            "psnr": quality,
        }
    )
    labels = pd.array(photos["label_idx"], dtype="Int64")
    known = ~pd.isna(labels)
    truth = np.full(len(out), np.nan)
    truth[known] = np.asarray(level_map)[np.asarray(labels[known], dtype=np.int64)]
    out["true"] = truth
    for name, (model, sets) in classifiers.items():
        scored = photos["set"].isin(sets).to_numpy()
        logits = torch.cat(
            [model(view.classifier_input(batch, model.input_size)).float() for batch in x_hat[scored].split(BATCH)]
        )
        predicted = np.full(len(out), np.nan)
        predicted[scored] = prob_sum_predictions(logits, [level_map]).at_level(1)
        out[f"pred_{name}"] = predicted
    return out


def probe_runs(runs: dict[str, Path], manifest: Path, hierarchy: Path, classifiers: dict | None = None) -> pd.DataFrame:
    """Every snapshot of every run probed: the per-photo rows of all of them (`run` column)."""
    from coarse2fine.evaluate.views.measure import load_classifiers
    from coarse2fine.hierarchy.assignments import load_hierarchy

    level_map = load_hierarchy(hierarchy).level_maps[0]
    photos, root = probe_photos(manifest)
    cache = {}

    def views(view):
        if view not in cache:
            cache[view] = photo_views(photos, root, view)
        return cache[view]

    classifiers = DEFAULT_CLASSIFIERS if classifiers is None else classifiers
    models, skipped = load_classifiers(list(classifiers))
    if skipped:
        raise RuntimeError(f"classifiers not available here: {skipped}")
    classifiers = {name: (models[name], tuple(sets)) for name, sets in classifiers.items()}
    frames = []
    for run, folder in runs.items():
        for step, path in snapshot_files(folder):
            log.info("probing %s step %d (%s): %d photos", run, step, path, len(photos))
            frames.append(probe_snapshot(path, photos, views, classifiers, level_map).assign(run=run))
    per_image = pd.concat(frames, ignore_index=True)
    return per_image[["run", *[c for c in per_image.columns if c != "run"]]]


def classifier_names(per_image: pd.DataFrame) -> list[str]:
    return [c.removeprefix("pred_") for c in per_image.columns if c.startswith("pred_")]


def summarise(per_image: pd.DataFrame, clusters: int | None = None) -> pd.DataFrame:
    """One row per (run, step, set, classifier): accuracy against the set's labels, the predicted
    clusters' shares beside the labels', and the coarse prefix's mean rate and quality."""
    names = classifier_names(per_image)
    if clusters is None:
        values = per_image[["true", *[f"pred_{n}" for n in names]]].to_numpy(float)
        clusters = int(np.nanmax(values)) + 1
    rows = []
    for (run, step, part), group in per_image.groupby(["run", "step", "set"], sort=True):
        truth = group["true"].to_numpy(float)
        labelled = ~np.isnan(truth)
        label_modal, _ = shares(truth)
        label_counts = np.bincount(truth[labelled].astype(int), minlength=clusters)
        common = {
            "run": run,
            "step": int(step),
            "set": part,
            "images": len(group),
            "labelled": int(labelled.sum()),
            "label_modal_share": label_modal,
            "label_modal_cluster": int(label_counts.argmax()),
            **{m: float(group[m].mean()) for m in ("bpp", "psnr")},
        }
        for name in names:
            predicted = group[f"pred_{name}"].to_numpy(float)
            if np.isnan(predicted).all():
                continue  # a classifier that does not score this set (the judge: held-out photos)
            modal, entropy = shares(predicted)
            counts = np.bincount(predicted.astype(int), minlength=clusters)
            rows.append(
                {
                    **common,
                    "classifier": name,
                    "top1": float((predicted[labelled] == truth[labelled]).mean()),
                    "balanced": balanced_accuracy(truth, predicted),
                    "modal_share": modal,
                    "modal_cluster": int(counts.argmax()),
                    "pred_entropy": entropy,
                    **{f"share_{c}": counts[c] / len(group) for c in range(clusters)},
                    **{f"label_share_{c}": label_counts[c] / max(labelled.sum(), 1) for c in range(clusters)},
                }
            )
    return pd.DataFrame(rows)


# -- the commands -----------------------------------------------------------------------------------
def _run_pair(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise ValueError(f"--run takes NAME=SNAPSHOT_FOLDER, got {text!r}")
    return name, Path(folder)


def probe_add_arguments(parser) -> None:
    parser.add_argument(
        "--run", action="append", required=True, metavar="NAME=FOLDER", help="a run's snapshots folder (repeatable)"
    )
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--hierarchy", type=Path, required=True, help="assignments.csv (level 1: the coarse clusters)")
    task, judge = list(DEFAULT_CLASSIFIERS)
    parser.add_argument(
        "--classifier", action="append", help=f"a classifier that scores every photo (repeatable; default {task})"
    )
    parser.add_argument("--judge", default=judge, help="a classifier that scores the held-out photos only ('none')")
    parser.add_argument("--output", type=Path, required=True, help="summary CSV: a row per run, step, set, classifier")
    parser.add_argument("--per-image", type=Path, help="CSV of every photo's rate, quality and predictions")
    parser.add_argument("--threads", type=int, default=2)


def probe_run_command(args) -> int:
    import torch

    torch.set_num_threads(args.threads)
    try:
        runs = dict(_run_pair(text) for text in args.run)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    from coarse2fine.hierarchy.assignments import load_hierarchy

    classifiers = {name: tuple(SETS) for name in args.classifier or list(DEFAULT_CLASSIFIERS)[:1]}
    if args.judge != "none":
        classifiers.setdefault(args.judge, ("held_out",))
    per_image = probe_runs(runs, args.manifest, args.hierarchy, classifiers)
    summary = summarise(per_image, load_hierarchy(args.hierarchy).ks[0])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.output, index=False)
    if args.per_image:
        args.per_image.parent.mkdir(parents=True, exist_ok=True)
        per_image.to_csv(args.per_image, index=False)
    log.info("probe: %d rows -> %s", len(summary), args.output)
    return 0
