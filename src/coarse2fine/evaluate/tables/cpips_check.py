"""The check that CPIPS (evaluate/views/cpips.py) behaves as a perceptual distance on the study's
views: it rises as JPEG quality falls, and how it correlates with MS-SSIM and with classifier
agreement. Torch-free: it reads the per-image table."""

from __future__ import annotations

CHECK_CODEC = "jpeg"  # the anchor whose quality grid the monotonicity check walks
_VIEW_KEY = ["views_dir", "image", "codec", "rate_point", "level"]


def _spearman(a, b) -> dict:
    """Spearman's rho and its p-value (None where undefined, e.g. a constant input)."""
    import warnings

    import numpy as np
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    n = int(keep.sum())
    rho = p = float("nan")
    if n >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant input: rho is NaN, reported as None
            rho, p = spearmanr(a[keep], b[keep])
    finite = lambda v: round(float(v), 6) if np.isfinite(v) else None  # noqa: E731
    out = {"rho": finite(rho), "p": finite(p), "n": n}
    if out["rho"] is None:
        out["undefined"] = "fewer than 3 views" if n < 3 else "one side is constant (e.g. every view agrees)"
    return out


def perceptual_check(per_image, reference_codec: str = "uncompressed", codec: str = CHECK_CODEC) -> dict:
    """From the per-image table (views x classifiers, with a cpips column): mean CPIPS per JPEG
    quality on the evaluated images and whether it rises at every step as the quality falls
    (`monotonic`; None when there are fewer than two qualities), the share of images for which
    it does, and Spearman correlations over all decoded views (every codec but the reference)
    of CPIPS with MS-SSIM and, per classifier, with agreement (top-1 of the view == top-1 of the
    same image's uncompressed view)."""
    import re

    import numpy as np

    if "cpips" not in per_image:
        raise ValueError("the views have no cpips column (evaluate the views with the `cpips` setting)")
    key = [k for k in _VIEW_KEY if k in per_image]
    views = per_image.drop_duplicates(subset=key)  # one row per view: CPIPS does not depend on the classifier
    decoded = views[(views["codec"] != reference_codec) & views["cpips"].notna()]

    jpeg = decoded[decoded["codec"] == codec].copy()
    jpeg["quality"] = jpeg["rate_point"].map(
        lambda r: int(m.group(1)) if (m := re.fullmatch(r"q(\d+)", str(r))) else -1
    )
    jpeg = jpeg[jpeg["quality"] >= 0]
    points = _quality_points(jpeg)
    means = [p["cpips_mean"] for p in points]
    monotonic = bool(np.all(np.diff(means) > 0)) if len(means) >= 2 else None
    per_image_rises = [
        bool(np.all(np.diff(g.sort_values("quality", ascending=False)["cpips"].to_numpy()) > 0))
        for _, g in jpeg.groupby(["views_dir", "image"] if "views_dir" in jpeg else ["image"])
        if len(g) >= 2
    ]
    agreement = _agreement_correlations(per_image, reference_codec)
    return {
        "codec": codec,
        "per_quality": points,
        "monotonic": monotonic,
        "images_monotonic": round(float(np.mean(per_image_rises)), 6) if per_image_rises else None,
        "images": int(jpeg["image"].nunique()),
        "decoded_views": int(len(decoded)),
        "spearman": {"ms_ssim": _spearman(decoded["cpips"], decoded["ms_ssim"]), "agreement": agreement},
        "note": "agreement needs the uncompressed reference views among the tabulated views"
        if not agreement or all(a["n"] == 0 for a in agreement.values())
        else None,
    }


def _quality_points(jpeg) -> list[dict]:
    """Mean CPIPS, MS-SSIM and bpp per JPEG quality, the best quality first."""
    points = []
    for quality, group in sorted(jpeg.groupby("quality"), key=lambda kv: -kv[0]):
        points.append(
            {
                "rate_point": group["rate_point"].iloc[0],
                "quality": int(quality),
                "n_images": int(group["image"].nunique()),
                "cpips_mean": float(group["cpips"].mean()),
                "ms_ssim_mean": float(group["ms_ssim"].mean()),
                "bpp_mean": float(group["bpp_actual"].mean()),
            }
        )
    return points


def _agreement_correlations(per_image, reference_codec: str) -> dict:
    """Per classifier: Spearman of CPIPS with agreement (the view's top-1 is the uncompressed
    view's), and the agreement rate."""
    agreement = {}
    for classifier, rows in per_image.groupby("classifier"):
        reference = (
            rows[rows["codec"] == reference_codec].drop_duplicates("image").set_index("image")["predicted_class"]
        )
        test = rows[(rows["codec"] != reference_codec) & rows["cpips"].notna() & rows["image"].isin(reference.index)]
        agree = (test["predicted_class"].to_numpy() == reference.loc[test["image"]].to_numpy()).astype(float)
        agreement[classifier] = {
            **_spearman(test["cpips"], agree),
            "agreement_rate": round(float(agree.mean()), 6) if len(agree) else None,
        }
    return agreement


def perceptual_check_markdown(check: dict) -> str:
    """The check as a short Markdown report."""
    verdict = {
        True: "PASS: mean CPIPS rises at every step as the quality falls",
        False: "FAIL: mean CPIPS does not rise at every step as the quality falls",
        None: "not checked: fewer than two JPEG qualities with CPIPS",
    }[check["monotonic"]]
    lines = [
        f"# CPIPS features, uncalibrated: check ({check['codec']} quality grid, {check['images']} images)",
        "",
        verdict,
        "",
    ]
    if check["images_monotonic"] is not None:
        lines += [f"Images whose own CPIPS rises at every step: {100 * check['images_monotonic']:.1f} %", ""]
    if check["per_quality"]:
        lines += ["| rate point | quality | images | bpp | MS-SSIM | CPIPS |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {p['rate_point']} | {p['quality']} | {p['n_images']} | {p['bpp_mean']:.3f} | {p['ms_ssim_mean']:.4f} "
            f"| {p['cpips_mean']:.5f} |"
            for p in check["per_quality"]
        ]
        lines.append("")
    fmt = lambda v, spec=".3f": "n/a" if v is None else format(v, spec)  # noqa: E731
    lines += [
        f"Spearman correlation over {check['decoded_views']} decoded views (all codecs):",
        "",
        "| CPIPS vs | rho | p | n |",
        "|---|---|---|---|",
    ]
    s = check["spearman"]["ms_ssim"]
    lines.append(f"| MS-SSIM | {fmt(s['rho'])} | {fmt(s['p'], '.3g')} | {s['n']} |")
    for classifier, s in check["spearman"]["agreement"].items():
        lines.append(
            f"| agreement with uncompressed top-1 ({classifier}) | {fmt(s['rho'])} | {fmt(s['p'], '.3g')} | {s['n']} |"
        )
    undefined = sorted(
        {
            s["undefined"]
            for s in [check["spearman"]["ms_ssim"], *check["spearman"]["agreement"].values()]
            if s.get("undefined")
        }
    )
    if undefined:
        lines += ["", "n/a: " + "; ".join(undefined) + "."]
    if check.get("note"):
        lines += ["", check["note"]]
    return "\n".join(lines) + "\n"
