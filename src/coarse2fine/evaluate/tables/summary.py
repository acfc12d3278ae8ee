"""The summary of the per-image table: mean and percentile-bootstrap confidence interval over
images per codec x rate point x level x classifier (summary.csv, summary.md), and the points of
one codec's rate curve."""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP = ["codec", "rate_point", "level", "classifier"]


def bootstrap_summary(
    table: pd.DataFrame, metrics: list[str], n_boot: int = 1000, confidence: float = 0.95, seed: int = 0
) -> pd.DataFrame:
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


def summary_markdown(summary: pd.DataFrame, ks: list[int]) -> str:
    """Compact Markdown: means with their CI for the accuracy per level."""

    def with_ci(row, metric, scale=1.0, digits=1):
        if pd.isna(row[metric]):
            return ""
        low, high = scale * row[metric + "_lo"], scale * row[metric + "_hi"]
        return f"{scale * row[metric]:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"

    out = summary[GROUP + ["n_images"]].copy()
    out["level"] = out["level"].astype(object).where(out["level"].notna(), "")
    out["bpp"] = summary["bpp_actual"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    out["PSNR dB"] = summary["psnr"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    out["MS-SSIM"] = summary["ms_ssim"].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    if "cpips" in summary:
        # the base codec's features without learned weights by default (docs/evaluation.md)
        out["CPIPS features, uncalibrated"] = [with_ci(r, "cpips", 1, 5) for _, r in summary.iterrows()]
    for level, k in enumerate(ks, start=1):
        out[f"top-1 K={k} %"] = [with_ci(r, f"correct_L{level}", 100) for _, r in summary.iterrows()]
    for level, k in enumerate(ks[:-1], start=1):
        if f"balanced_L{level}" in summary:
            out[f"balanced K={k} %"] = summary[f"balanced_L{level}"].map(
                lambda v: "" if pd.isna(v) else f"{100 * v:.1f}"
            )
            out[f"modal share K={k} %"] = summary[f"modal_share_L{level}"].map(
                lambda v: "" if pd.isna(v) else f"{100 * v:.1f}"
            )
            if f"cluster_sizes_L{level}" in summary:
                # balanced accuracy weighs each cluster equally: how many photos each one holds
                out[f"photos per true cluster K={k}"] = summary[f"cluster_sizes_L{level}"].fillna("")
    for level, k in enumerate(ks, start=1):
        if f"agree_L{level}" in summary:
            out[f"agreement K={k} %"] = [with_ci(r, f"agree_L{level}", 100) for _, r in summary.iterrows()]
    out["Wu-Palmer"] = [with_ci(r, "wu_palmer", 1, 3) for _, r in summary.iterrows()]
    return out.to_markdown(index=False) + "\n"
