"""Build one hierarchy: assignments.csv, summary.json, summary.md and clusters.md."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from coarse2fine.hierarchy import metrics
from coarse2fine.hierarchy.assignments import write_assignments
from coarse2fine.hierarchy.classes import class_table
from coarse2fine.hierarchy.config import check_hierarchy
from coarse2fine.hierarchy.embedders import embedder_settings
from coarse2fine.hierarchy.methods import build_levels, is_seeded, uses_embeddings
from coarse2fine.hierarchy.paper import paper_levels


def summarize(spec: dict, runs: list[list[np.ndarray]], similarity: np.ndarray, embeddings: np.ndarray | None) -> dict:
    """Every number of summary.json; runs[0] is the hierarchy written, runs[1:] other seeds."""
    levels = runs[0]
    paper = paper_levels()
    typicality = (
        metrics.centroid_typicality(embeddings) if embeddings is not None else metrics.wup_typicality(similarity)
    )
    labels = class_table()["label"].tolist()
    summary_levels = []
    for i, (target_k, level) in enumerate(zip(spec["ks"], levels)):
        ranked = metrics.typical_members(level, typicality)
        entry = {
            "level": f"level_{i + 1}",
            "target_k": int(target_k),
            "sizes": metrics.size_stats(level),
            "nesting_in_coarser": metrics.nesting(levels[i - 1], level) if i > 0 else None,
            "wup_intra_cluster": metrics.mean_intra_cluster(similarity, level),
            "wup_random_partition": metrics.random_partition_intra_cluster(similarity, level, spec["seeds"][0]),
            "ari_across_seeds": (
                metrics.pairwise_ari([run[i] for run in runs]) | {"seeds": len(runs)} if len(runs) > 1 else None
            ),
            "ari_vs_paper": {f"K{k}": float(adjusted_rand_score(ref, level)) for k, ref in paper.items()},
            "clusters": [
                {
                    "id": c,
                    "size": len(members),
                    "typical_class_idx": members[:5],
                    "typical": [labels[m] for m in members[:5]],
                }
                for c, members in enumerate(ranked)
            ],
        }
        summary_levels.append(entry)
    return {
        "name": spec["name"],
        "method": spec["method"],
        "embedder": embedder_settings(spec) if uses_embeddings(spec["method"]) else None,
        "typicality": "cosine to cluster centroid" if embeddings is not None else "mean Wu-Palmer to cluster",
        "ks": [int(k) for k in spec["ks"]],
        "seeds": list(spec["seeds"]) if is_seeded(spec["method"]) else None,
        "settings": spec,
        "levels": summary_levels,
    }


def _fmt(x, digits=3):
    return "n/a" if x is None else f"{x:.{digits}f}"


def summary_markdown(summary: dict) -> str:
    emb = summary["embedder"]
    lines = [
        f"# Hierarchy `{summary['name']}`",
        "",
        f"Method `{summary['method']}`"
        + (f', embedder `{emb["embedder"]}`, prompt "{emb["prompt"]}"' if emb else "")
        + (f", seeds {summary['seeds']}" if summary["seeds"] else " (deterministic)")
        + ".",
        "",
        "| level | target K | K | size min / median / max | nesting in coarser (rate / purity) "
        "| Wu-Palmer intra-cluster | Wu-Palmer random partition (mean ± sd) | ARI across seeds mean (min) "
        "| ARI vs paper K10 | ARI vs paper K100 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lvl in summary["levels"]:
        s, nest, rnd, seeds = (
            lvl["sizes"],
            lvl["nesting_in_coarser"],
            lvl["wup_random_partition"],
            lvl["ari_across_seeds"],
        )
        lines.append(
            f"| {lvl['level']} | {lvl['target_k']} | {s['k']} | {s['min']} / {s['median']:g} / {s['max']} "
            f"| {'n/a' if nest is None else _fmt(nest['rate']) + ' / ' + _fmt(nest['purity'])} "
            f"| {_fmt(lvl['wup_intra_cluster'])} | {_fmt(rnd['mean'])} ± {_fmt(rnd['std'])} "
            f"| {'n/a (deterministic)' if seeds is None else _fmt(seeds['mean']) + ' (' + _fmt(seeds['min']) + ')'} "
            f"| {_fmt(lvl['ari_vs_paper']['K10'])} | {_fmt(lvl['ari_vs_paper']['K100'])} |"
        )
    lines += [
        "",
        "Nesting: share of this level's clusters that lie inside one cluster of the coarser level "
        "(rate), and share of classes in the majority coarse cluster of their cluster (purity). "
        "Wu-Palmer: mean over all pairs of classes sharing a cluster; the random partition keeps "
        "the cluster sizes and shuffles the classes "
        f"({summary['levels'][0]['wup_random_partition']['repeats']} draws). "
        "ARI across seeds: adjusted Rand index over all pairs of seeds.",
        "",
    ]
    return "\n".join(lines)


def clusters_markdown(summary: dict) -> str:
    lines = [
        f"# Clusters of `{summary['name']}`",
        "",
        f"Five most typical classes per cluster ({summary['typicality']}).",
        "",
    ]
    for lvl in summary["levels"]:
        lines += [
            f"## {lvl['level']} (target K={lvl['target_k']}, {lvl['sizes']['k']} clusters)",
            "",
            "| cluster | size | most typical classes |",
            "|---|---|---|",
        ]
        lines += [f"| {c['id']} | {c['size']} | {'; '.join(c['typical'])} |" for c in lvl["clusters"]]
        lines.append("")
    return "\n".join(lines)


def build_hierarchy(spec: dict, similarity: np.ndarray, embeddings: np.ndarray | None, output_dir: str | Path) -> dict:
    check_hierarchy(spec)
    if uses_embeddings(spec["method"]) and embeddings is None:
        raise ValueError(f"hierarchy {spec['name']!r}: method {spec['method']} needs embeddings")
    seeds = spec["seeds"] if is_seeded(spec["method"]) else spec["seeds"][:1]
    runs = [build_levels(spec, seed, embeddings) for seed in seeds]
    output_dir = Path(output_dir)
    write_assignments(output_dir / "assignments.csv", runs[0], spec["method"])
    summary = summarize(spec, runs, similarity, embeddings if uses_embeddings(spec["method"]) else None)
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (output_dir / "summary.md").write_text(summary_markdown(summary))
    (output_dir / "clusters.md").write_text(clusters_markdown(summary))
    return summary
