"""The results tables for one hierarchy, from the decoded views of every provider (cheap half).

per_image.csv: one row per image x codec x rate point x level x classifier with the predicted
class, the prob-sum predicted cluster at every level (pred_L1 .. pred_L<n>, the last level is
the class), correct_L1 .. correct_L<n> (NaN without a label), confidence_L1 .. confidence_L<n>
(prob-sum confidence of the prediction), agree_L1 .. agree_L<n> (the same prediction as this
classifier's on the uncompressed view: needs no label), Wu-Palmer similarity between
predicted and true class, PSNR, MS-SSIM, bpp from actual bytes, estimated bpp (NaN where the
codec has no estimate: the anchors' rate is their actual size).
summary.csv / summary.md: mean over images and a percentile bootstrap confidence interval
(resampling images) per codec x rate point x level x classifier.
bd.csv / bd.md: BD-rate and BD-accuracy per level (and BD-PSNR) against a named anchor, and
against the base codec where it was evaluated (codec "base").
progressive_check.json / .md: whether every learned stream's rate rises and PSNR never falls
prefix by prefix (evaluate/progressive.py).
cpips_check.json / cpips_check.md (only when the views carry a cpips column, see
evaluate.cpips): mean CPIPS per JPEG quality, whether it rises at every step as the quality
falls, and its Spearman correlations with MS-SSIM and with classifier agreement.

`level` is the semantic level a learned codec's bitstream prefix decodes to; it is empty for
streams not split by level (anchors, the uncompressed reference), whose points serve every
level's curve.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from coarse2fine.classify.levels import NUM_CLASSES, prob_sum_predictions, true_clusters
from coarse2fine.evaluate.bd import bd_metric, bd_rate
from coarse2fine.evaluate.cpips import perceptual_check, perceptual_check_markdown
from coarse2fine.evaluate.metrics import wu_palmer
from coarse2fine.evaluate.progressive import progressive_check, progressive_check_markdown
from coarse2fine.evaluate.views import REFERENCE_CODEC

log = logging.getLogger("coarse2fine.evaluate")

GROUP = ["codec", "rate_point", "level", "classifier"]
IMAGE_METRICS = ["bpp_actual", "bpp_estimated", "psnr", "ms_ssim", "wu_palmer"]
BASE_CODEC = "base"  # the shipped or pretrained rate-distortion base, evaluated as a codec
OPTIONAL_METRICS = ["cpips"]  # columns that views evaluated with the matching setting carry


def image_metrics(table: pd.DataFrame) -> list[str]:
    """IMAGE_METRICS, and each optional metric that some view has (older view folders lack it)."""
    return IMAGE_METRICS + [m for m in OPTIONAL_METRICS if m in table and table[m].notna().any()]


def level_ks(level_maps) -> list[int]:
    """Clusters per level, coarse to fine, the class level (1000) last."""
    return [int(np.max(m)) + 1 for m in level_maps] + [NUM_CLASSES]


def read_views(view_dir: Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    view_dir = Path(view_dir)
    frame = pd.read_csv(view_dir / "views.csv", dtype={"rate_point": str, "codec": str})
    frame["level"] = frame["level"].astype("Int64")
    frame["label_idx"] = frame["label_idx"].astype("Int64")
    with np.load(view_dir / "logits.npz") as npz:
        logits = {k: npz[k] for k in npz.files}
    for name, value in logits.items():
        if value.shape != (len(frame), NUM_CLASSES):
            raise ValueError(f"{view_dir}: logits of {name} have shape {value.shape}, views.csv has {len(frame)} rows")
    cpips_csv = view_dir / "cpips.csv"  # written by evaluate.cpips_views, row for row
    if cpips_csv.is_file() and "cpips" not in frame:
        cpips = pd.read_csv(cpips_csv, dtype={"rate_point": str, "codec": str})
        same = (len(cpips) == len(frame) and (cpips["image"] == frame["image"]).all()
                and (cpips["codec"] == frame["codec"]).all() and (cpips["rate_point"] == frame["rate_point"]).all())
        if not same:
            raise ValueError(f"{cpips_csv}: its rows are not those of views.csv (rerun the CPIPS job)")
        frame["cpips"] = cpips["cpips"].to_numpy()
    return frame, logits


def per_image_table(view_dirs, level_maps) -> pd.DataFrame:
    """The tidy table: views x classifiers with predictions and correctness at every level."""
    from coarse2fine.hierarchy.classes import labels

    names = labels()
    ks = level_ks(level_maps)
    parts = []
    for view_dir in view_dirs:
        frame, logits = read_views(view_dir)
        known = frame["label_idx"].notna().to_numpy()
        true_idx = frame["label_idx"].fillna(0).astype(int).to_numpy()
        truth = true_clusters(true_idx, level_maps) + [true_idx]
        for classifier, value in logits.items():
            pred = prob_sum_predictions(value, level_maps)
            part = frame.copy()
            part.insert(part.columns.get_loc("codec"), "classifier", classifier)
            part["predicted_class"] = pred.predicted_class
            part["predicted_label"] = [names[i] for i in pred.predicted_class]
            for level in range(1, len(ks) + 1):
                predicted = pred.at_level(level)
                part[f"pred_L{level}"] = predicted
                part[f"correct_L{level}"] = np.where(known, (predicted == truth[level - 1]).astype(float), np.nan)
                # what a receiver compares with its threshold (classify/receiver.py)
                part[f"confidence_L{level}"] = pred.confidence_at(level)
            part["wu_palmer"] = wu_palmer(pred.predicted_class, np.where(known, true_idx, -1))
            part["views_dir"] = str(view_dir)  # recon_file is relative to <views_dir>/recon
            parts.append(part)
    if not parts:
        raise ValueError("no views to tabulate")
    table = pd.concat(parts, ignore_index=True)
    add_agreement(table, len(ks))
    table.attrs["ks"] = ks
    return table


def add_agreement(table: pd.DataFrame, num_levels: int) -> None:
    """agree_L<k>: whether a view's prediction at level k is the same classifier's prediction on
    the uncompressed view of the same image: a label-free score (NaN where no reference row)."""
    reference = table[table["codec"] == REFERENCE_CODEC]
    if reference.duplicated(["image", "classifier"]).any():
        raise ValueError("more than one uncompressed view per image and classifier")
    ref = reference.set_index(["image", "classifier"])
    key = pd.MultiIndex.from_frame(table[["image", "classifier"]])
    for level in range(1, num_levels + 1):
        expected = ref[f"pred_L{level}"].reindex(key).to_numpy(dtype=float)
        agree = (table[f"pred_L{level}"].to_numpy(dtype=float) == expected).astype(float)
        table[f"agree_L{level}"] = np.where(np.isnan(expected), np.nan, agree)


def bootstrap_summary(table: pd.DataFrame, metrics: list[str], n_boot: int = 1000, confidence: float = 0.95,
                      seed: int = 0) -> pd.DataFrame:
    """Mean and percentile-bootstrap CI over images for each group (NaNs ignored per metric)."""
    rng = np.random.default_rng(seed)
    tail = (1 - confidence) / 2 * 100
    rows = []
    for key, group in table.groupby(GROUP, dropna=False, sort=True):
        values = group[metrics].to_numpy(dtype=float)
        n = len(values)
        resampled = values[rng.integers(0, n, size=(n_boot, n))]  # (boot, n, metrics)
        with np.errstate(invalid="ignore"), _quiet_nan_warnings():
            means = np.nanmean(values, axis=0)
            boot = np.nanmean(resampled, axis=1)
            lo, hi = np.nanpercentile(boot, [tail, 100 - tail], axis=0)
        row = dict(zip(GROUP, key), n_images=group["image"].nunique())
        for j, metric in enumerate(metrics):
            row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = means[j], lo[j], hi[j]
        rows.append(row)
    summary = pd.DataFrame(rows)
    summary["level"] = summary["level"].astype("Int64")
    return summary


class _quiet_nan_warnings:
    """All-NaN slices (e.g. estimated bpp of the anchors) are expected; NaN is the answer."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def curve(summary: pd.DataFrame, codec: str, classifier: str, level: int) -> pd.DataFrame:
    """The points of one codec's curve at one level: its prefix for that level where the codec
    is split by level, all its rate points otherwise; sorted by rate."""
    rows = summary[(summary["codec"] == codec) & (summary["classifier"] == classifier)]
    if rows["level"].notna().any():
        rows = rows[rows["level"] == level]
    return rows.dropna(subset=["bpp_actual"]).sort_values("bpp_actual")


def bd_table(summary: pd.DataFrame, ks: list[int], anchor: str) -> pd.DataFrame:
    """BD-rate (%) and BD-accuracy (percentage points) per level, and BD-PSNR (dB) on the
    full stream, of every codec against `anchor`."""
    if anchor not in set(summary["codec"]):
        raise ValueError(f"BD anchor {anchor!r} is not among the evaluated codecs {sorted(set(summary['codec']))}")
    rows = []
    codecs = sorted(set(summary["codec"]) - {anchor, REFERENCE_CODEC})
    for classifier in sorted(set(summary["classifier"])):
        for level, k in enumerate(ks, start=1):
            ref = curve(summary, anchor, classifier, level)
            for codec in codecs:
                test = curve(summary, codec, classifier, level)
                metric = f"correct_L{level}"
                rows.append({"classifier": classifier, "level": level, "K": k, "codec": codec, "anchor": anchor,
                             "metric": "top1", "points": len(test),
                             "bd_rate_percent": bd_rate(ref["bpp_actual"], ref[metric], test["bpp_actual"], test[metric]),
                             "bd_metric": 100 * bd_metric(ref["bpp_actual"], ref[metric], test["bpp_actual"], test[metric])})
        ref = curve(summary, anchor, classifier, len(ks))
        for codec in codecs:
            test = curve(summary, codec, classifier, len(ks))
            rows.append({"classifier": classifier, "level": len(ks), "K": ks[-1], "codec": codec, "anchor": anchor,
                         "metric": "psnr", "points": len(test),
                         "bd_rate_percent": bd_rate(ref["bpp_actual"], ref["psnr"], test["bpp_actual"], test["psnr"]),
                         "bd_metric": bd_metric(ref["bpp_actual"], ref["psnr"], test["bpp_actual"], test["psnr"])})
    return pd.DataFrame(rows)


def summary_markdown(summary: pd.DataFrame, ks: list[int]) -> str:
    """Compact Markdown: means with their CI for the accuracy per level."""
    def with_ci(row, metric, scale=1.0, digits=1):
        if pd.isna(row[metric]):
            return ""
        return f"{scale * row[metric]:.{digits}f} [{scale * row[metric + '_lo']:.{digits}f}, {scale * row[metric + '_hi']:.{digits}f}]"

    out = summary[GROUP + ["n_images"]].copy()
    out["level"] = out["level"].astype(object).where(out["level"].notna(), "")
    out["bpp"] = summary["bpp_actual"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    out["PSNR dB"] = summary["psnr"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    out["MS-SSIM"] = summary["ms_ssim"].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    if "cpips" in summary:
        out["CPIPS"] = [with_ci(r, "cpips", 1, 5) for _, r in summary.iterrows()]
    for level, k in enumerate(ks, start=1):
        out[f"top-1 K={k} %"] = [with_ci(r, f"correct_L{level}", 100) for _, r in summary.iterrows()]
    for level, k in enumerate(ks, start=1):
        if f"agree_L{level}" in summary:
            out[f"agreement K={k} %"] = [with_ci(r, f"agree_L{level}", 100) for _, r in summary.iterrows()]
    out["Wu-Palmer"] = [with_ci(r, "wu_palmer", 1, 3) for _, r in summary.iterrows()]
    return out.to_markdown(index=False) + "\n"


def load_level_maps(assignments: Path) -> list[np.ndarray]:
    from coarse2fine.hierarchy import load_hierarchy

    return [np.asarray(m) for m in load_hierarchy(assignments).level_maps]


def run(settings: dict, view_dirs: list[Path], level_maps, output_dir: Path) -> dict[str, pd.DataFrame]:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    table = per_image_table(view_dirs, level_maps)
    ks = table.attrs["ks"]
    metrics = image_metrics(table) + [f"{what}_L{level}" for what in ("correct", "agree") for level in range(1, len(ks) + 1)]
    summary = bootstrap_summary(table, metrics, int(settings.get("bootstrap", 1000)), float(settings.get("confidence", 0.95)),
                                int(settings.get("seed", 0)))
    # Against the named anchor, and against the base codec where it was evaluated: how far the
    # fine-tunes moved from the rate-distortion of the base they started from.
    anchors = [settings.get("bd_anchor", "jpeg")] + [BASE_CODEC] * (BASE_CODEC in set(summary["codec"]))
    bd = pd.concat([bd_table(summary, ks, anchor) for anchor in anchors], ignore_index=True)
    table.to_csv(output_dir / "per_image.csv", index=False)
    summary.to_csv(output_dir / "summary.csv", index=False)
    (output_dir / "summary.md").write_text(summary_markdown(summary, ks))
    bd.to_csv(output_dir / "bd.csv", index=False)
    (output_dir / "bd.md").write_text(bd.round(2).to_markdown(index=False) + "\n")
    (output_dir / "levels.json").write_text(json.dumps({"ks": ks}) + "\n")
    progressive = progressive_check(summary)
    (output_dir / "progressive_check.json").write_text(json.dumps(progressive, indent=2) + "\n")
    (output_dir / "progressive_check.md").write_text(progressive_check_markdown(progressive))
    if "cpips" in metrics:
        check = perceptual_check(table, REFERENCE_CODEC)
        (output_dir / "cpips_check.json").write_text(json.dumps(check, indent=2) + "\n")
        (output_dir / "cpips_check.md").write_text(perceptual_check_markdown(check))
    return {"per_image": table, "summary": summary, "bd": bd}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Tabulate decoded views for one hierarchy: per-image, summary and BD tables.")
    parser.add_argument("--settings", required=True, help="JSON: bootstrap, confidence, seed, bd_anchor")
    parser.add_argument("--hierarchy", type=Path, required=True, help="assignments.csv of the hierarchy")
    parser.add_argument("--views", type=Path, nargs="+", required=True, help="folders written by coarse2fine.evaluate.views")
    parser.add_argument("--output-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(json.loads(args.settings), args.views, load_level_maps(args.hierarchy), args.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
