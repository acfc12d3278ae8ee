"""What a fine-tune does to its coarse prefix, step by step: its snapshots probed on the training
photos and on the held-out ones (docs/results.md, section 3).

A job trained with `snapshot_every` leaves `snapshots/step_<n>.pt` beside its output (the weights
it started from as step 0). For each snapshot, every photo of the probe's two sets, in the
study's view, is coded into a real stream, cut after level 1 and decoded, as the evaluation does
(`evaluate.views`: the coded provider and the one measuring loop, so the rate is the cut's size,
the likelihood estimate beside it, and PSNR and the classifiers' logits are the evaluation's):

- `train`: the labelled training photos, the images and labels the task term trained on (seen
  here whole, in the evaluation's view, not in the training crops);
- `held_out`: the evaluation's photos (val + test), with the labels the evaluation scores against.

Per (run, step, set, classifier) the summary gives the coarse top-1 and balanced accuracy against
those labels (`evaluate.tables.cluster_prior`, the tables' own formula), the share of the photos
put in each coarse cluster, the modal share and its cluster beside the labels' own, and the
coarse prefix's bpp (the cut's size and the likelihood estimate), PSNR and MS-SSIM.

    python -m coarse2fine.evaluate probe --run c2f=DIR/snapshots --run rd_only=DIR/snapshots \\
        --manifest data/sample/manifest.csv --hierarchy results/hierarchy/<h>/assignments.csv \\
        --output probe.csv --per-image probe_images.csv

The figures stage's `probe` command draws its tables and figure from the summary (figures/probe.py).
"""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from coarse2fine.config_schema import schema_default
from coarse2fine.evaluate.tables.cluster_prior import balanced_accuracy, shares

log = logging.getLogger("coarse2fine.training.probe")

SETS = {"train": ("train",), "held_out": ("val", "test")}
SNAPSHOT = re.compile(r"step_(\d+)\.pt$")
# the task term's classifier (the schema's train.classifier) and the embedded default's judge
# (config/config.yaml's evaluate.judge; the schema has none)
DEFAULT_CLASSIFIERS = (schema_default("train.classifier"), "efficientnet_lite1")


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


def first_level(provider):
    """A coded provider that decodes the level-1 cut alone (its views come level by level)."""
    return lambda path, image: itertools.islice(provider(path, image), 1)


def probe_snapshot(path: Path, photos: pd.DataFrame, root: Path, classifiers: dict, level_map) -> pd.DataFrame:
    """One row per photo: the coarse prefix's rate, PSNR and MS-SSIM, the true coarse cluster and
    each classifier's prob-sum prediction (`pred_<classifier>`)."""
    from coarse2fine.classify.levels import prob_sum_predictions
    from coarse2fine.evaluate.views.measure import measure_views
    from coarse2fine.evaluate.views.providers.coded import coding_provider
    from coarse2fine.training.checkpoint import load_codec_with_meta
    from coarse2fine.training.settings import TrainSettings

    codec, meta = load_codec_with_meta(path)  # a snapshot's entropy tables built from its weights
    view = TrainSettings.from_dict(meta["settings"]).study_view
    provider = first_level(coding_provider(codec, "probe", "probe"))
    frame, logits = measure_views(photos, root, provider, view, classifiers=classifiers)
    if len(frame) != len(photos) or (frame["level"] != 1).any():
        raise RuntimeError(f"{path}: expected one level-1 view per photo, got {len(frame)} views")
    out = pd.DataFrame(
        {
            "step": int(meta["step"]),
            "set": photos["set"].to_numpy(),
            "image": frame["image"],
            "label_idx": frame["label_idx"],
            "label_source": frame["label_source"],
            "bpp": frame["bpp_actual"],
            "bpp_estimated": frame["bpp_estimated"],
            "psnr": frame["psnr"],
            "ms_ssim": frame["ms_ssim"],
        }
    )
    labels = pd.array(frame["label_idx"], dtype="Int64")
    known = ~pd.isna(labels)
    truth = np.full(len(out), np.nan)
    truth[known] = np.asarray(level_map)[np.asarray(labels[known], dtype=np.int64)]
    out["true"] = truth
    for name, values in logits.items():
        out[f"pred_{name}"] = prob_sum_predictions(values, [level_map]).at_level(1)
    return out


def probe_runs(
    runs: dict[str, Path], manifest: Path, hierarchy: Path, classifier_names=DEFAULT_CLASSIFIERS
) -> pd.DataFrame:
    """Every snapshot of every run probed: the per-photo rows of all of them (`run` column)."""
    from coarse2fine.evaluate.views.measure import load_classifiers
    from coarse2fine.hierarchy.assignments import load_hierarchy

    level_map = load_hierarchy(hierarchy).level_maps[0]
    photos, root = probe_photos(manifest)
    classifiers, skipped = load_classifiers(list(classifier_names))
    if skipped:
        raise RuntimeError(f"classifiers not available here: {skipped}")
    frames = []
    for run, folder in runs.items():
        for step, path in snapshot_files(folder):
            log.info("probing %s step %d (%s): %d photos", run, step, path, len(photos))
            frames.append(probe_snapshot(path, photos, root, classifiers, level_map).assign(run=run))
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
            **{m: float(group[m].mean()) for m in ("bpp", "bpp_estimated", "psnr", "ms_ssim")},
        }
        for name in names:
            predicted = group[f"pred_{name}"].to_numpy(float)
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
    parser.add_argument(
        "--classifiers", nargs="+", default=list(DEFAULT_CLASSIFIERS), help="the task term's classifier, the judge"
    )
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

    per_image = probe_runs(runs, args.manifest, args.hierarchy, args.classifiers)
    summary = summarise(per_image, load_hierarchy(args.hierarchy).ks[0])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.output, index=False)
    if args.per_image:
        args.per_image.parent.mkdir(parents=True, exist_ok=True)
        per_image.to_csv(args.per_image, index=False)
    log.info("probe: %d rows -> %s", len(summary), args.output)
    return 0
