"""Does coarse-to-fine training help? The paired test of the paper's claim (claim.md, claim.csv).

Scored by one classifier, the judge, that neither trained the codec nor labelled the photos, on
every held-out image, image by image:

- at each level k and rate point, the method's level-k prefix against the ablation's (c2f
  against rd_only, same lambdas): the mean difference in top-1 (against the label) and in
  agreement (with the judge's own prediction on the uncompressed view: no label needed), a
  paired bootstrap interval (images resampled, both codecs together) and an exact McNemar
  p-value (binomial test on the discordant images);
- at equal rate: the BD-accuracy of the method against the ablation and each progressive
  baseline at level k (the mean accuracy gap between the two rate-accuracy curves over their
  common rate range), with a paired bootstrap interval (the same resampled images for every
  rate point of both curves).

Where the study trains repeats of the method and its ablation with other seeds, claim.md also
gives their seed-averaged difference (repeats.py). The statistics are in claim_stats.py.

Verdicts: at a coarse level, "higher" or "lower" where the BD interval excludes zero, "not
resolved" otherwise; at the finest level, whether the method stays within `fine_margin` points
of the ablation ("within" where the interval's lower end is above -margin).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coarse2fine.evaluate.bd import bd_metric
from coarse2fine.evaluate.claim_stats import interval, paired_difference
from coarse2fine.evaluate.repeats import markdown as repeats_markdown
from coarse2fine.evaluate.repeats import seed_averaged


@dataclass(frozen=True)
class ClaimSettings:
    judge: str
    method: str = "c2f"
    ablation: str = "rd_only"
    baselines: tuple[str, ...] = ("deephq", "rmpgc")
    bootstrap: int = 2000
    confidence: float = 0.95
    seed: int = 0
    fine_margin: float = 2.0  # percentage points the finest level may lose
    # further (method, ablation) runs of the same recipe with other training seeds (repeats.py)
    repeats: tuple[tuple[str, str], ...] = ()

    @property
    def runs(self) -> list[tuple[str, str]]:
        return [(self.method, self.ablation), *self.repeats]


def curve_matrix(
    table: pd.DataFrame, codec: str, level: int, metric: str
) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """(rate points, images x rate points of the metric, of bpp) of one codec's curve at a level:
    its level-k prefix at every rate point where the codec is split by level, every layer (rate
    point) otherwise."""
    rows = table[table["codec"] == codec]
    if rows["level"].notna().any():
        rows = rows[rows["level"] == level]
    values = rows.pivot_table(index="image", columns="rate_point", values=metric, aggfunc="first", dropna=False)
    bpp = rows.pivot_table(index="image", columns="rate_point", values="bpp_actual", aggfunc="first")
    return list(values.columns), values, bpp


def paired_bd_accuracy(
    table: pd.DataFrame,
    method: str,
    other: str,
    level: int,
    metric: str,
    settings: ClaimSettings,
    rng: np.random.Generator,
) -> dict:
    """BD-accuracy (points) of `method` against `other` at a level, with a paired bootstrap CI."""
    _, m_val, m_bpp = curve_matrix(table, method, level, metric)
    _, o_val, o_bpp = curve_matrix(table, other, level, metric)
    images = sorted(set(m_val.dropna().index) & set(o_val.dropna().index))
    if len(images) < 2 or m_val.shape[1] < 2 or o_val.shape[1] < 2:
        return {"n": len(images), "bd": math.nan, "bd_lo": math.nan, "bd_hi": math.nan}
    arrays = [frame.loc[images].to_numpy(float) for frame in (m_val, m_bpp, o_val, o_bpp)]

    def bd(index) -> float:
        mv, mb, ov, ob = (a[index].mean(axis=0) for a in arrays)
        return 100 * bd_metric(ob, ov, mb, mv)

    n = len(images)
    draws = rng.integers(0, n, size=(settings.bootstrap, n))
    lo, hi = interval(np.array([bd(d) for d in draws]), settings.confidence)
    return {"n": n, "bd": bd(np.arange(n)), "bd_lo": lo, "bd_hi": hi}


def verdict(level: int, num_levels: int, lo: float, hi: float, margin: float) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "not measured"
    if level < num_levels:
        return "higher, resolved" if lo > 0 else "lower, resolved" if hi < 0 else "not resolved"
    if lo > 0:
        return "higher, resolved"
    return (
        f"within {margin:g} points, resolved"
        if lo > -margin
        else f"more than {margin:g} points lower, resolved"
        if hi < -margin
        else "not resolved"
    )


def claim_tables(table: pd.DataFrame, ks: list[int], settings: ClaimSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per rate point paired differences, BD-accuracy at equal rate) for the judge."""
    judged = table[table["classifier"] == settings.judge]
    if judged.empty:
        raise ValueError(
            f"the judge {settings.judge!r} scored no view (classifiers: {sorted(set(table['classifier']))})"
        )
    for codec in dict.fromkeys(codec for run in settings.runs for codec in run):  # in order: the first missing named
        if codec not in set(judged["codec"]):
            raise ValueError(f"claim: codec {codec!r} was not evaluated (codecs: {sorted(set(judged['codec']))})")
    rng = np.random.default_rng(settings.seed)
    num_levels = len(ks)
    paired_rows, bd_rows = [], []
    for level, k in enumerate(ks, start=1):
        for what, metric in (("top-1", f"correct_L{level}"), ("agreement", f"agree_L{level}")):
            m_rps, m_val, m_bpp = curve_matrix(judged, settings.method, level, metric)
            _, a_val, a_bpp = curve_matrix(judged, settings.ablation, level, metric)
            for rp in m_rps:
                if rp not in a_val:
                    continue
                both = pd.concat([m_val[rp], a_val[rp]], axis=1, keys=["m", "a"]).dropna()
                draws = rng.integers(0, len(both), size=(settings.bootstrap, len(both)))
                row = paired_difference(both["m"].to_numpy(), both["a"].to_numpy(), draws, settings.confidence)
                paired_rows.append(
                    {
                        "level": level,
                        "K": k,
                        "metric": what,
                        "rate_point": rp,
                        "bpp_method": float(m_bpp[rp].mean()),
                        "bpp_ablation": float(a_bpp[rp].mean()),
                        "acc_method": 100 * float(both["m"].mean()),
                        "acc_ablation": 100 * float(both["a"].mean()),
                        **row,
                    }
                )
            for other in (settings.ablation, *settings.baselines):
                if other not in set(judged["codec"]):
                    continue
                result = paired_bd_accuracy(judged, settings.method, other, level, metric, settings, rng)
                bd_rows.append(
                    {
                        "level": level,
                        "K": k,
                        "metric": what,
                        "against": other,
                        **result,
                        "verdict": verdict(level, num_levels, result["bd_lo"], result["bd_hi"], settings.fine_margin),
                    }
                )
    return pd.DataFrame(paired_rows), pd.DataFrame(bd_rows)


def _fmt(value, digits=1) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.{digits}f}"


def claim_markdown(paired: pd.DataFrame, bd: pd.DataFrame, settings: ClaimSettings, images: int) -> str:
    lines = [
        f"# Does {settings.method} beat {settings.ablation}? (judge: {settings.judge}, {images} held-out images)",
        "",
        f"Scored by {settings.judge}, which neither trained the codecs nor labelled the photos. "
        f"Intervals: {settings.confidence:.0%} paired bootstrap over images ({settings.bootstrap} resamples). "
        "Agreement: the same prediction as the judge's on the uncompressed view (needs no label).",
        "",
        "## At equal rate: BD-accuracy of the method's level-k prefix (points)",
        "",
        "| level | K | metric | against | images | BD-accuracy [CI] | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in bd.itertuples():
        lines.append(
            f"| {r.level} | {r.K} | {r.metric} | {r.against} | {r.n} | "
            f"{_fmt(r.bd)} [{_fmt(r.bd_lo)}, {_fmt(r.bd_hi)}] | {r.verdict} |"
        )
    lines += [
        "",
        f"## Per rate point: {settings.method} minus {settings.ablation}, image by image",
        "",
        "| level | K | metric | rate point | bpp method / ablation | "
        "accuracy method / ablation % | difference [CI] points | McNemar p (only method / only ablation) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in paired.itertuples():
        lines.append(
            f"| {r.level} | {r.K} | {r.metric} | {r.rate_point} | {r.bpp_method:.3f} / {r.bpp_ablation:.3f} | "
            f"{r.acc_method:.1f} / {r.acc_ablation:.1f} | {_fmt(r.diff)} [{_fmt(r.diff_lo)}, {_fmt(r.diff_hi)}] | "
            f"{r.mcnemar_p:.3g} ({r.only_method} / {r.only_other}) |"
        )
    return "\n".join(lines) + "\n"


def run(settings: ClaimSettings, per_image: Path, levels_json: Path, output_dir: Path) -> dict:
    table = pd.read_csv(per_image, dtype={"rate_point": str, "codec": str}, low_memory=False)
    table["level"] = table["level"].astype("Int64")
    ks = json.loads(Path(levels_json).read_text())["ks"]
    paired, bd = claim_tables(table, ks, settings)
    seeds = pd.DataFrame()
    if settings.repeats:
        judged = table[table["classifier"] == settings.judge]
        rng = np.random.default_rng(settings.seed + 1)
        seeds = seed_averaged(judged, settings.runs, ks, settings.bootstrap, settings.confidence, rng)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paired.to_csv(output_dir / "claim_paired.csv", index=False)
    bd.to_csv(output_dir / "claim_bd.csv", index=False)
    images = int(table.loc[table["classifier"] == settings.judge, "image"].nunique())
    text = claim_markdown(paired, bd, settings, images)
    text += "\n".join(repeats_markdown(seeds, settings.runs, settings.confidence)) + ("\n" if len(seeds) else "")
    (output_dir / "claim.md").write_text(text)
    headline = {
        f"L{r.level}_{r.metric}_vs_{r.against}": {"bd": r.bd, "lo": r.bd_lo, "hi": r.bd_hi, "verdict": r.verdict}
        for r in bd.itertuples()
    }
    # a list, not a dict: the headline reads the dict entries as BD-accuracies
    over_seeds = seeds.to_dict(orient="records") if len(seeds) else []
    (output_dir / "claim.json").write_text(
        json.dumps({"judge": settings.judge, "images": images, **headline, "over_seeds": over_seeds}, indent=1) + "\n"
    )
    return headline


def add_arguments(parser) -> None:
    parser.add_argument(
        "--settings",
        required=True,
        help="JSON: judge, method, ablation, baselines, bootstrap, confidence, seed, fine_margin, repeats",
    )
    parser.add_argument("--per-image", type=Path, required=True)
    parser.add_argument("--levels", type=Path, required=True, help="levels.json beside per_image.csv")
    parser.add_argument("--output-dir", type=Path, required=True)


def run_command(args) -> int:
    raw = json.loads(args.settings)
    repeats = tuple(tuple(pair) for pair in raw.get("repeats", ()))
    settings = ClaimSettings(**{**raw, "baselines": tuple(raw.get("baselines", ())), "repeats": repeats})
    run(settings, args.per_image, args.levels, args.output_dir)
    return 0
