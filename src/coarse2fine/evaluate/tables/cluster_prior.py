"""Metrics that a shift of the predicted-cluster prior cannot fake (docs/evaluation.md, "A prior
shift is not semantics").

Top-1 against skewed labels rewards a codec that moves its predictions toward the sample's
frequent clusters. Beside it, per codec x rate point x level x classifier and per hierarchy
level, from the stored predictions (no pass over the images):

- balanced_L<k>: balanced accuracy, the mean recall over the true clusters present (chance:
  1 / clusters present, whatever the prior);
- balanced_agree_L<k>: the same against the classifier's own prediction on the uncompressed
  view instead of the label (label-free);
- modal_share_L<k>: the share of the images put in the most-predicted cluster, beside
  true_modal_share_L<k>, the share of the labels' most frequent cluster (the majority baseline:
  the top-1 of a codec that sends every image there);
- pred_entropy_L<k>: entropy (bits) of the predicted clusters, beside true_entropy_L<k>;
- clusters_L<k>: clusters present among the labels (chance of balanced accuracy is 1 / that);
- cluster_sizes_L<k>: the photos of each true cluster present, largest first ("25/12/3/2"): a
  cluster of n photos moves balanced accuracy by 100 / (n x clusters) points per photo.

`informative` says whether a codec's prefix carries the coarse question at all: balanced
accuracy at least `min_chance_ratio` times chance and a modal share at most `max_modal_ratio`
times the true one. A difference between two uninformative prefixes is noise or prior.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP = ["codec", "rate_point", "level", "classifier"]
# informativeness of a prefix (issue: at least twice chance, modal share at most ~1.5x the true one)
MIN_CHANCE_RATIO = 2.0
MAX_MODAL_RATIO = 1.5


def balanced_accuracy(truth, predicted) -> float:
    """Mean over the true clusters present of the share of their images predicted right (NaN
    truths left out); equals sklearn's balanced_accuracy_score."""
    truth, predicted = np.asarray(truth, float), np.asarray(predicted, float)
    return balanced_from_correct((predicted == truth).astype(float), truth)


def balanced_from_correct(correct, truth) -> float:
    """Balanced accuracy from per-image correctness (0/1) and each image's true cluster: the
    mean over clusters present of their images' mean correctness (NaN truths left out). In this
    form it is cheap enough to bootstrap."""
    correct, truth = np.asarray(correct, float), np.asarray(truth, float)
    keep = ~np.isnan(truth) & ~np.isnan(correct)
    if not keep.any():
        return np.nan
    _, inverse = np.unique(truth[keep], return_inverse=True)
    hits = np.bincount(inverse, weights=correct[keep])
    return float(np.mean(hits / np.bincount(inverse)))


def cluster_sizes(truth) -> str:
    """The number of images of each true cluster present, largest first, as "25/12/3/2"."""
    truth = np.asarray(truth, float)
    _, counts = np.unique(truth[~np.isnan(truth)], return_counts=True)
    return "/".join(str(c) for c in sorted(counts, reverse=True))


def shares(values) -> tuple[float, float]:
    """(share of the most frequent value, entropy of the values in bits); NaNs left out."""
    values = np.asarray(values, float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.nan, np.nan
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(p.max()), float(-(p * np.log2(p)).sum())


def group_metrics(group: pd.DataFrame, num_levels: int) -> dict:
    row = {}
    for level in range(1, num_levels + 1):
        truth, pred = group[f"true_L{level}"], group[f"pred_L{level}"]
        row[f"balanced_L{level}"] = balanced_accuracy(truth, pred)
        if f"ref_L{level}" in group:
            row[f"balanced_agree_L{level}"] = balanced_accuracy(group[f"ref_L{level}"], pred)
        row[f"modal_share_L{level}"], row[f"pred_entropy_L{level}"] = shares(pred)
        row[f"true_modal_share_L{level}"], row[f"true_entropy_L{level}"] = shares(truth)
        row[f"clusters_L{level}"] = int(pd.Series(truth).dropna().nunique())
        row[f"cluster_sizes_L{level}"] = cluster_sizes(truth)
    return row


def prior_metrics(table: pd.DataFrame, num_levels: int) -> pd.DataFrame:
    """One row per codec x rate point x level x classifier (the summary's groups)."""
    rows = [
        dict(zip(GROUP, key), **group_metrics(group, num_levels))
        for key, group in table.groupby(GROUP, dropna=False, sort=True)
    ]
    out = pd.DataFrame(rows)
    out["level"] = out["level"].astype("Int64")
    return out


def informative(balanced: float, clusters: int, modal_share: float, true_modal_share: float) -> bool:
    """Whether a prefix answers the coarse question at all (see the module docstring)."""
    if not (np.isfinite(balanced) and clusters):
        return False
    return balanced >= MIN_CHANCE_RATIO / clusters and modal_share <= MAX_MODAL_RATIO * true_modal_share


def photo_source(table: pd.DataFrame) -> pd.Series:
    """Where each photo came from: the manifest's source where the views carry it, else the
    folder the image sits in (older view folders)."""
    folder = table["image"].astype(str).map(lambda p: p.rsplit("/", 2)[-2] if p.count("/") else "")
    if "source" not in table:
        return folder
    return table["source"].fillna("").astype(str).where(lambda s: s != "", folder)


def breakdown(table: pd.DataFrame, num_levels: int, classifier: str) -> pd.DataFrame:
    """Top-1, balanced accuracy and modal share per codec x rate point x level, split by label
    source (ground truth, teacher) and by photo source, for one classifier."""
    judged = table[table["classifier"] == classifier].copy()
    judged["photo_source"] = photo_source(judged)
    judged["label_source"] = judged["label_source"].fillna("").astype(str).replace("", "none")
    parts = []
    for by in ("label_source", "photo_source"):
        for key, group in judged.groupby(GROUP[:3] + [by], dropna=False, sort=True):
            row = dict(zip(GROUP[:3], key[:3]), split_by=by, value=key[3], n_images=group["image"].nunique())
            for level in range(1, num_levels + 1):
                row[f"top1_L{level}"] = float(group[f"correct_L{level}"].mean())
                row[f"balanced_L{level}"] = balanced_accuracy(group[f"true_L{level}"], group[f"pred_L{level}"])
                row[f"modal_share_L{level}"] = shares(group[f"pred_L{level}"])[0]
            parts.append(row)
    out = pd.DataFrame(parts)
    if len(out):
        out["level"] = out["level"].astype("Int64")
    return out


def prior_markdown(prior: pd.DataFrame, ks: list[int], classifier: str) -> str:
    """The prior table of one classifier at the coarse levels: balanced accuracy, chance, modal
    share against the true one, entropy, and whether the prefix is informative."""
    rows = prior[prior["classifier"] == classifier]
    lines = [
        f"# Prior-robust metrics ({classifier})",
        "",
        "Balanced accuracy: mean recall over the true clusters present (chance 1 / clusters). "
        "Modal share: the share of images put in the most-predicted cluster; the labels' own is "
        "the majority baseline. Informative: balanced accuracy at least "
        f"{MIN_CHANCE_RATIO:g}x chance and modal share at most {MAX_MODAL_RATIO:g}x the labels'.",
        "",
    ]
    for level, k in enumerate(ks[:-1], start=1):
        lines += [
            f"## K={k} (level {level})",
            "",
            "| codec | rate point | level | balanced % | chance % | balanced agreement % | "
            "modal share % (labels') | entropy bits (labels') | informative | photos per true cluster |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows.itertuples():
            get = r._asdict()
            clusters = get[f"clusters_L{level}"]
            balanced, modal, true_modal = (
                get[f"{m}_L{level}"] for m in ("balanced", "modal_share", "true_modal_share")
            )
            chance = 100 / clusters if clusters else np.nan
            lines.append(
                f"| {r.codec} | {r.rate_point} | {'' if pd.isna(r.level) else r.level} | {100 * balanced:.1f} | "
                f"{chance:.1f} | {100 * get.get(f'balanced_agree_L{level}', np.nan):.1f} | "
                f"{100 * modal:.1f} ({100 * true_modal:.1f}) | "
                f"{get[f'pred_entropy_L{level}']:.2f} ({get[f'true_entropy_L{level}']:.2f}) | "
                f"{'yes' if informative(balanced, clusters, modal, true_modal) else 'no'} | "
                f"{get[f'cluster_sizes_L{level}']} |"
            )
        lines.append("")
    return "\n".join(lines)
