"""Agreement across hierarchies: adjusted Rand index across seeds, embedders, methods, and
against the paper's released K10/K100, as one long CSV and a Markdown table to cite."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
from sklearn.metrics import adjusted_rand_score

from coarse2fine.hierarchy.assignments import load_hierarchy

PAPER = "paper (released)"


def _embedder_name(summary: dict) -> str:
    emb = summary["embedder"]
    if emb is None:
        return "-"
    if emb["embedder"] == "clip":
        return f"clip:{emb['clip']['model']}/{emb['clip']['pretrained']}"
    return emb["embedder"]


def _comparison(a: dict, b: dict) -> str:
    """What differs between two hierarchies: the embedder, the method, or more."""
    same_method = a["method"] == b["method"]
    if a["embedder"] is None or b["embedder"] is None:  # wordnet_depth and file embed nothing
        return "methods" if not same_method else "settings"
    same_embedder = _embedder_name(a) == _embedder_name(b)
    if same_method and not same_embedder:
        return "embedders"
    if same_embedder and not same_method:
        return "methods"
    return "methods+embedders" if not same_method else "settings"


COLUMNS = [
    "kind",
    "target_k",
    "hierarchy_a",
    "method_a",
    "embedder_a",
    "hierarchy_b",
    "method_b",
    "embedder_b",
    "ari",
    "ari_min",
    "pairs",
]


def agreement_table(assignment_paths: list[str | Path]) -> pd.DataFrame:
    """One row per (comparison, target K): kind seeds | paper | embedders | methods | ..."""
    entries = []
    for path in assignment_paths:
        path = Path(path)
        summary = json.loads(path.with_name("summary.json").read_text())
        hierarchy = load_hierarchy(path)
        by_k = {lvl["target_k"]: (lvl, level) for lvl, level in zip(summary["levels"], hierarchy.level_maps)}
        entries.append((summary, by_k))
    rows = [row for summary, by_k in entries for row in _own_rows(summary, by_k)]
    for (sa, ka), (sb, kb) in itertools.combinations(entries, 2):
        rows += [_pair_row(sa, sb, k, ka[k][1], kb[k][1]) for k in sorted(set(ka) & set(kb))]
    return pd.DataFrame(rows, columns=COLUMNS)


def _own_rows(summary: dict, by_k: dict) -> list[dict]:
    """A hierarchy against itself over seeds, and against the paper's released clusters."""
    base = {"hierarchy_a": summary["name"], "method_a": summary["method"], "embedder_a": _embedder_name(summary)}
    rows = []
    for k, (lvl, _) in by_k.items():
        seeds = lvl["ari_across_seeds"]
        if seeds is not None:
            rows.append(
                base
                | {
                    "kind": "seeds",
                    "target_k": k,
                    "hierarchy_b": summary["name"],
                    "method_b": summary["method"],
                    "embedder_b": _embedder_name(summary),
                    "ari": seeds["mean"],
                    "ari_min": seeds["min"],
                    "pairs": seeds["pairs"],
                }
            )
        paper_key = f"K{k}"
        if paper_key in lvl["ari_vs_paper"]:
            rows.append(
                base
                | {
                    "kind": "paper",
                    "target_k": k,
                    "hierarchy_b": PAPER,
                    "method_b": "kmeans",
                    "embedder_b": "clip (paper)",
                    "ari": lvl["ari_vs_paper"][paper_key],
                    "ari_min": None,
                    "pairs": 1,
                }
            )
    return rows


def _pair_row(sa: dict, sb: dict, k: int, level_a, level_b) -> dict:
    """Two hierarchies' clusterings at one target K."""
    return {
        "kind": _comparison(sa, sb),
        "target_k": k,
        "hierarchy_a": sa["name"],
        "method_a": sa["method"],
        "embedder_a": _embedder_name(sa),
        "hierarchy_b": sb["name"],
        "method_b": sb["method"],
        "embedder_b": _embedder_name(sb),
        "ari": float(adjusted_rand_score(level_a, level_b)),
        "ari_min": None,
        "pairs": 1,
    }


def agreement_matrix(table: pd.DataFrame, target_k: int) -> pd.DataFrame:
    """Symmetric ARI matrix at one target K, with the paper's released level as last column."""
    rows = table[(table["target_k"] == target_k) & (table["kind"] != "seeds")]
    names = list(dict.fromkeys(rows["hierarchy_a"].tolist() + rows["hierarchy_b"].tolist()))
    names = [n for n in names if n != PAPER] + ([PAPER] if (rows["hierarchy_b"] == PAPER).any() else [])
    matrix = pd.DataFrame(index=names, columns=names, dtype=float)
    for name in names:
        matrix.loc[name, name] = 1.0
    for row in rows.itertuples():
        matrix.loc[row.hierarchy_a, row.hierarchy_b] = matrix.loc[row.hierarchy_b, row.hierarchy_a] = row.ari
    return matrix


def agreement_markdown(table: pd.DataFrame) -> str:
    lines = [
        "# Agreement between hierarchies (adjusted Rand index)",
        "",
        "1 = identical partitions, 0 = chance level. Levels are matched by their target K.",
        "",
    ]
    seeds = table[table["kind"] == "seeds"]
    if len(seeds):
        lines += [
            "## Stability across seeds",
            "",
            "| hierarchy | method | embedder | target K | seeds pairs | ARI mean | ARI min |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.hierarchy_a} | {r.method_a} | {r.embedder_a} | {r.target_k} | {r.pairs} "
            f"| {r.ari:.3f} | {r.ari_min:.3f} |"
            for r in seeds.itertuples()
        ]
        lines.append("")
    for k in sorted(table["target_k"].unique()):
        matrix = agreement_matrix(table, k)
        if matrix.empty:
            continue
        lines += [
            f"## Target K = {k}",
            "",
            "| | " + " | ".join(matrix.columns) + " |",
            "|---" * (len(matrix.columns) + 1) + "|",
        ]
        for name, row in matrix.iterrows():
            lines.append(f"| {name} | " + " | ".join("" if pd.isna(v) else f"{v:.3f}" for v in row) + " |")
        lines.append("")
    pairs = table[~table["kind"].isin(["seeds"])]
    if len(pairs):
        lines += ["## All comparisons", "", "| what differs | target K | a | b | ARI |", "|---|---|---|---|---|"]
        lines += [
            f"| {r.kind} | {r.target_k} | {r.hierarchy_a} ({r.method_a}, {r.embedder_a}) "
            f"| {r.hierarchy_b} ({r.method_b}, {r.embedder_b}) | {r.ari:.3f} |"
            for r in pairs.itertuples()
        ]
        lines.append("")
    return "\n".join(lines)


def write_agreement(assignment_paths: list[str | Path], output_csv: str | Path, output_md: str | Path) -> pd.DataFrame:
    table = agreement_table(assignment_paths)
    Path(output_csv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(output_csv, index=False)
    Path(output_md).write_text(agreement_markdown(table))
    return table
