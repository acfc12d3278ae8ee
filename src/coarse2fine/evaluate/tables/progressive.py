"""Does every progressive stream behave progressively on the evaluated images?

For each learned codec's curve, in the order its prefixes are received, the mean actual bpp
must rise strictly and the mean PSNR must not fall: a coarse-to-fine codec's levels 1..L at
each rate point, a baseline's layers L1..Ln (DeepHQ's quantization layers, RMPGC's target
rates). Means are over the evaluated images (the summary table's rows of one classifier; the
image metrics do not depend on it). Written beside the tables as progressive_check.{json,md}.
"""

from __future__ import annotations

import re

import pandas as pd

LAYER_RATE_POINT = re.compile(r"^L(\d+)$")


def progressive_curves(summary: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(codec, what varies, rows in prefix order) of every progressive curve in the summary."""
    rows = summary[summary["classifier"] == summary["classifier"].iloc[0]]
    curves = []
    for codec, group in rows.groupby("codec", sort=True):
        if group["level"].notna().all():
            for rate_point, points in group.groupby("rate_point", sort=True):
                curves.append((codec, f"levels at {rate_point}", points.sort_values("level")))
            continue
        layers = group["rate_point"].astype(str).str.extract(LAYER_RATE_POINT)[0]
        if layers.notna().all() and len(group) > 1:
            curves.append((codec, "layers", group.assign(_layer=layers.astype(int)).sort_values("_layer")))
    return curves


def progressive_check(summary: pd.DataFrame) -> list[dict]:
    report = []
    for codec, varies, points in progressive_curves(summary):
        bpp, psnr = points["bpp_actual"].tolist(), points["psnr"].tolist()
        report.append(
            {
                "codec": codec,
                "curve": varies,
                "prefixes": points["rate_point"].tolist() if varies == "layers" else [int(v) for v in points["level"]],
                "bpp": [round(v, 5) for v in bpp],
                "psnr": [round(v, 3) for v in psnr],
                "rate_rises": all(b > a for a, b in zip(bpp, bpp[1:])),
                "psnr_never_falls": all(b >= a for a, b in zip(psnr, psnr[1:])),
            }
        )
    return report


def progressive_check_markdown(report: list[dict]) -> str:
    lines = [
        "| codec | curve | bpp per prefix | PSNR dB per prefix | rate rises | PSNR never falls |",
        "|---|---|---|---|---|---|",
    ]
    for r in report:
        lines.append(
            f"| {r['codec']} | {r['curve']} | {' / '.join(f'{v:.3f}' for v in r['bpp'])} | "
            f"{' / '.join(f'{v:.2f}' for v in r['psnr'])} | {'yes' if r['rate_rises'] else '**no**'} | "
            f"{'yes' if r['psnr_never_falls'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"
