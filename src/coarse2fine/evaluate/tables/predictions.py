"""The per-image table: every view of every view folder, for every classifier, with the
prob-sum prediction, its correctness, confidence and agreement at every level of one hierarchy.

per_image.csv: one row per image x codec x rate point x level x classifier with the predicted
class, the prob-sum predicted cluster at every level (pred_L1 .. pred_L<n>, the last level is
the class), correct_L1 .. correct_L<n> (NaN without a label), confidence_L1 .. confidence_L<n>
(prob-sum confidence of the prediction), agree_L1 .. agree_L<n> (the same prediction as this
classifier's on the uncompressed view: needs no label; that prediction is ref_L1 .. ref_L<n>),
Wu-Palmer similarity between predicted and true class, PSNR, MS-SSIM, bpp from actual bytes,
estimated bpp (NaN where the codec has no estimate: the anchors' rate is their actual size).

`level` is the semantic level a learned codec's bitstream prefix decodes to; it is empty for
streams not split by level (anchors, the uncompressed reference), whose points serve every
level's curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coarse2fine.classify.levels import NUM_CLASSES, prob_sum_predictions, true_clusters
from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC, read_views
from coarse2fine.hierarchy.classes import labels
from coarse2fine.hierarchy.similarity import wu_palmer

IMAGE_METRICS = ["bpp_actual", "bpp_estimated", "psnr", "ms_ssim", "wu_palmer"]
OPTIONAL_METRICS = ["cpips"]  # columns that views evaluated with the matching setting carry


def image_metrics(table: pd.DataFrame) -> list[str]:
    """IMAGE_METRICS, and each optional metric that some view has (older view folders lack it)."""
    return IMAGE_METRICS + [m for m in OPTIONAL_METRICS if m in table and table[m].notna().any()]


def level_ks(level_maps) -> list[int]:
    """Clusters per level, coarse to fine, the class level (1000) last."""
    return [int(np.max(m)) + 1 for m in level_maps] + [NUM_CLASSES]


def per_image_table(view_dirs, level_maps) -> pd.DataFrame:
    """The tidy table: views x classifiers with predictions and correctness at every level."""
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
                part[f"true_L{level}"] = np.where(known, truth[level - 1], np.nan)
                part[f"correct_L{level}"] = np.where(known, (predicted == truth[level - 1]).astype(float), np.nan)
                # what a receiver compares with its threshold (receiver.py)
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
        # the uncompressed view's prediction: the "truth" of the label-free balanced agreement
        table[f"ref_L{level}"] = expected
