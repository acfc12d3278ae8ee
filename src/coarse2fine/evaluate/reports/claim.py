"""Does coarse-to-fine training help? The paired test of the paper's claim (claim.md, claim.json,
and its tables as CSV: claim_paired, claim_bd, claim_informative; claim_runs, the per rate point
difference of every seed's run pair; claim_seeds, the seed-averaged one).

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

from coarse2fine.evaluate.reports.claim_stats import interval, paired_difference
from coarse2fine.evaluate.reports.repeats import markdown as repeats_markdown
from coarse2fine.evaluate.reports.repeats import seed_averaged
from coarse2fine.evaluate.tables.bd import bd_metric
from coarse2fine.evaluate.tables.cluster_prior import balanced_from_correct, cluster_sizes, informative, shares
from coarse2fine.evaluate.tables.scores import SCORES, Score, curve_truth

# claim_seeds.csv: the seed-averaged difference (repeats.py), its header when there are no repeats
POOLED_COLUMNS = ["level", "K", "metric", "rate_point", "runs", "n", "diff", "diff_lo", "diff_hi"]


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
    score: Score,
    settings: ClaimSettings,
    rng: np.random.Generator,
) -> dict:
    """BD-accuracy (points) of `method` against `other` at a level, with a paired bootstrap CI."""
    metric = score.at(level)
    _, m_val, m_bpp = curve_matrix(table, method, level, metric)
    _, o_val, o_bpp = curve_matrix(table, other, level, metric)
    images = sorted(set(m_val.dropna().index) & set(o_val.dropna().index))
    if len(images) < 2 or m_val.shape[1] < 2 or o_val.shape[1] < 2:
        return {"n": len(images), "bd": math.nan, "bd_lo": math.nan, "bd_hi": math.nan}
    m_val, m_bpp, o_val, o_bpp = (frame.loc[images].to_numpy(float) for frame in (m_val, m_bpp, o_val, o_bpp))
    truth = curve_truth(table, method, level, score)
    truth = None if truth is None else truth.reindex(images).to_numpy(float)

    def bd(index) -> float:
        t = None if truth is None else truth[index]
        mv, ov = score.aggregate(m_val[index], t), score.aggregate(o_val[index], t)
        return 100 * bd_metric(o_bpp[index].mean(axis=0), ov, m_bpp[index].mean(axis=0), mv)

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


def score_difference(score: Score, both: pd.DataFrame, truth, draws: np.ndarray, confidence: float) -> dict:
    """Method minus ablation at one rate point (points), its paired bootstrap interval; McNemar
    for the plain scores (a balanced score is not a count of images)."""
    if score.truth is None:
        row = paired_difference(both["m"].to_numpy(), both["a"].to_numpy(), draws, confidence)
        return {"acc_method": 100 * float(both["m"].mean()), "acc_ablation": 100 * float(both["a"].mean()), **row}
    values = both[["m", "a"]].to_numpy(float)
    t = truth.reindex(both.index).to_numpy(float)
    acc = score.aggregate(values, t)
    diffs = np.array([np.subtract(*score.aggregate(values[d], t[d])) for d in draws]) * 100
    lo, hi = interval(diffs, confidence)
    return {
        "acc_method": 100 * acc[0],
        "acc_ablation": 100 * acc[1],
        "n": len(both),
        "diff": 100 * (acc[0] - acc[1]),
        "diff_lo": lo,
        "diff_hi": hi,
        "mcnemar_p": math.nan,
        "only_method": math.nan,
        "only_other": math.nan,
    }


def informativeness(table: pd.DataFrame, ks: list[int], settings: ClaimSettings) -> pd.DataFrame:
    """Per coarse level and rate point, whether the ablation's and the method's level-k prefixes
    are informative (cluster_prior.informative): balanced accuracy, clusters present, the modal
    share of the predictions against the labels'."""
    judged = table[table["classifier"] == settings.judge]
    rows = []
    for level, k in enumerate(ks[:-1], start=1):
        for codec in (settings.ablation, settings.method):
            coded = judged[judged["codec"] == codec]
            if coded["level"].notna().any():
                coded = coded[coded["level"] == level]
            for rp, group in coded.groupby("rate_point", sort=True):
                truth, pred = group[f"true_L{level}"], group[f"pred_L{level}"]
                balanced = balanced_from_correct(group[f"correct_L{level}"], truth)
                clusters = int(truth.dropna().nunique())
                modal, true_modal = shares(pred)[0], shares(truth)[0]
                rows.append(
                    {
                        "level": level,
                        "K": k,
                        "codec": codec,
                        "rate_point": rp,
                        "bpp": float(group["bpp_actual"].mean()),
                        "balanced": 100 * balanced,
                        "chance": 100 / clusters if clusters else math.nan,
                        "modal_share": 100 * modal,
                        "true_modal_share": 100 * true_modal,
                        "informative": informative(balanced, clusters, modal, true_modal),
                        "photos_per_cluster": cluster_sizes(truth),
                    }
                )
    return pd.DataFrame(rows)


def survives(bd: pd.DataFrame, informative_rows: pd.DataFrame, settings: ClaimSettings, level: int) -> str:
    """The coarse level's verdict against the ablation: a gain in top-1 counts only where it
    holds in balanced accuracy too, and only where the ablation's prefix is informative."""
    against = bd[(bd["level"] == level) & (bd["against"] == settings.ablation)].set_index("metric")
    if "top-1" not in against.index:
        return "not measured"
    plain, balanced = against.loc["top-1", "verdict"], against.loc["balanced top-1", "verdict"]
    ablation = informative_rows[(informative_rows["level"] == level) & (informative_rows["codec"] == settings.ablation)]
    note = (
        ""
        if len(ablation) and ablation["informative"].all()
        else f"; the ablation's prefix is uninformative at {(~ablation['informative']).sum()} of {len(ablation)} "
        "rate points (a difference there is noise or prior)"
    )
    return f"top-1: {plain}; balanced accuracy: {balanced}{note}"


def paired_at_level(
    judged: pd.DataFrame,
    method: str,
    ablation: str,
    level: int,
    k: int,
    score: Score,
    settings: ClaimSettings,
    rng: np.random.Generator,
) -> list[dict]:
    """Method minus ablation at one level, one row per rate point they share: the paired
    difference (points), its bootstrap interval over images, McNemar for the plain scores."""
    m_rps, m_val, m_bpp = curve_matrix(judged, method, level, score.at(level))
    _, a_val, a_bpp = curve_matrix(judged, ablation, level, score.at(level))
    truth = curve_truth(judged, method, level, score)
    rows = []
    for rp in m_rps:
        if rp not in a_val:
            continue
        both = pd.concat([m_val[rp], a_val[rp]], axis=1, keys=["m", "a"]).dropna()
        draws = rng.integers(0, len(both), size=(settings.bootstrap, len(both)))
        row = score_difference(score, both, truth, draws, settings.confidence)
        rows.append(
            {
                "level": level,
                "K": k,
                "metric": score.name,
                "rate_point": rp,
                "bpp_method": float(m_bpp[rp].mean()),
                "bpp_ablation": float(a_bpp[rp].mean()),
                **row,
            }
        )
    return rows


def per_run_paired(judged: pd.DataFrame, paired: pd.DataFrame, ks: list[int], settings: ClaimSettings) -> pd.DataFrame:
    """The per rate point paired differences of every (method, ablation) run pair: the claim's
    own (`paired`, as claim_paired.csv gives it), then each repeat with another training seed
    (claim_runs.csv, for the paired-difference figure). The repeats draw from a generator of
    their own, so that the claim's numbers are the same with or without them."""
    parts = [paired.assign(method=settings.method, ablation=settings.ablation)]
    rng = np.random.default_rng(settings.seed + 2)
    for method, ablation in settings.repeats:
        rows = [
            row
            for level, k in enumerate(ks, start=1)
            for score in SCORES
            for row in paired_at_level(judged, method, ablation, level, k, score, settings, rng)
        ]
        parts.append(pd.DataFrame(rows).assign(method=method, ablation=ablation))
    runs = pd.concat(parts, ignore_index=True)
    return runs[["method", "ablation", *[c for c in runs if c not in ("method", "ablation")]]]


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
        for score in SCORES:
            paired_rows += paired_at_level(judged, settings.method, settings.ablation, level, k, score, settings, rng)
            for other in (settings.ablation, *settings.baselines):
                if other not in set(judged["codec"]):
                    continue
                result = paired_bd_accuracy(judged, settings.method, other, level, score, settings, rng)
                bd_rows.append(
                    {
                        "level": level,
                        "K": k,
                        "metric": score.name,
                        "against": other,
                        **result,
                        "verdict": verdict(level, num_levels, result["bd_lo"], result["bd_hi"], settings.fine_margin),
                    }
                )
    return pd.DataFrame(paired_rows), pd.DataFrame(bd_rows)


def _fmt(value, digits=1) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.{digits}f}"


def _mcnemar(r) -> str:
    if not math.isfinite(r.mcnemar_p):
        return "n/a"
    return f"{r.mcnemar_p:.3g} ({int(r.only_method)} / {int(r.only_other)})"


def claim_markdown(
    paired: pd.DataFrame, bd: pd.DataFrame, settings: ClaimSettings, images: int, info: pd.DataFrame, ks
) -> str:
    lines = [
        f"# Does {settings.method} beat {settings.ablation}? (judge: {settings.judge}, {images} held-out images)",
        "",
        f"Scored by {settings.judge}, which neither trained the codecs nor labelled the photos. "
        f"Intervals: {settings.confidence:.0%} paired bootstrap over images ({settings.bootstrap} resamples). "
        "Agreement: the same prediction as the judge's on the uncompressed view (needs no label). "
        "Balanced: the mean over the true clusters present (over the uncompressed prediction's clusters for "
        "balanced agreement), which a shift of the predicted-cluster prior cannot raise.",
        "",
        "## Verdict at the coarse levels",
        "",
    ]
    for level, k in enumerate(ks[:-1], start=1):
        lines.append(f"- K={k}: {survives(bd, info, settings, level)}")
    lines += [
        "",
        "## Is the coarse prefix informative? (balanced accuracy at least "
        "2x chance, modal share at most 1.5x the labels')",
        "",
        "| level | K | codec | rate point | bpp | balanced % | chance % | modal share % (labels') | informative "
        "| photos per true cluster |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in info.itertuples():
        lines.append(
            f"| {r.level} | {r.K} | {r.codec} | {r.rate_point} | {r.bpp:.3f} | {r.balanced:.1f} | {r.chance:.1f} | "
            f"{r.modal_share:.1f} ({r.true_modal_share:.1f}) | {'yes' if r.informative else 'no'} | "
            f"{r.photos_per_cluster} |"
        )
    lines += [
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
            f"{_mcnemar(r)} |"
        )
    return "\n".join(lines) + "\n"


def run(settings: ClaimSettings, per_image: Path, levels_json: Path, output_dir: Path) -> dict:
    table = pd.read_csv(per_image, dtype={"rate_point": str, "codec": str}, low_memory=False)
    table["level"] = table["level"].astype("Int64")
    ks = json.loads(Path(levels_json).read_text())["ks"]
    paired, bd = claim_tables(table, ks, settings)
    info = informativeness(table, ks, settings)
    judged = table[table["classifier"] == settings.judge]
    seeds = pd.DataFrame()
    if settings.repeats:
        rng = np.random.default_rng(settings.seed + 1)
        seeds = seed_averaged(judged, settings.runs, ks, settings.bootstrap, settings.confidence, rng)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paired.to_csv(output_dir / "claim_paired.csv", index=False)
    per_run_paired(judged, paired, ks, settings).to_csv(output_dir / "claim_runs.csv", index=False)
    pooled = seeds.drop(columns="per_run") if len(seeds) else pd.DataFrame(columns=POOLED_COLUMNS)
    pooled.to_csv(output_dir / "claim_seeds.csv", index=False)
    bd.to_csv(output_dir / "claim_bd.csv", index=False)
    images = int(table.loc[table["classifier"] == settings.judge, "image"].nunique())
    info.to_csv(output_dir / "claim_informative.csv", index=False)
    text = claim_markdown(paired, bd, settings, images, info, ks)
    text += "\n".join(repeats_markdown(seeds, settings.runs, settings.confidence)) + ("\n" if len(seeds) else "")
    (output_dir / "claim.md").write_text(text)
    headline = {
        f"L{r.level}_{r.metric.replace(' ', '_')}_vs_{r.against}": {
            "bd": r.bd,
            "lo": r.bd_lo,
            "hi": r.bd_hi,
            "verdict": r.verdict,
        }
        for r in bd.itertuples()
    }
    # a list, not a dict: the headline reads the dict entries as BD-accuracies
    over_seeds = seeds.to_dict(orient="records") if len(seeds) else []
    (output_dir / "claim.json").write_text(
        json.dumps(
            {
                "judge": settings.judge,
                "images": images,
                **headline,
                "coarse_verdicts": {f"K={k}": survives(bd, info, settings, lv) for lv, k in enumerate(ks[:-1], 1)},
                "over_seeds": over_seeds,
            },
            indent=1,
        )
        + "\n"
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
