"""The hierarchy rules: one job per hierarchy, and an edit reruns only the edited one."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import run_snakemake

MINIMAL_SNAKEFILE = """configfile: "config/config.yaml"
include: "workflow/rules/common.smk"
include: "workflow/rules/hierarchy.smk"
rule all:
    input: PLAN.hierarchy.targets()
"""
FINAL = [
    "results/hierarchy/agreement.csv",
    "results/hierarchy/agreement.md",
    "results/hierarchy/hierarchy_overview.png",
    "results/hierarchy/hierarchy_overview.pdf",
]


def workflow_copy(repo: Path, tmp_path: Path, hierarchies: list[dict] | None = None) -> Path:
    """The Snakefile (or a minimal one that includes common.smk and hierarchy.smk), workflow/,
    config/ and environment.yml in a temporary folder; the package is importable already."""
    work = tmp_path / "wf"
    shutil.copytree(repo / "workflow", work / "workflow")
    shutil.copytree(repo / "config", work / "config")
    shutil.copyfile(repo / "environment.yml", work / "environment.yml")  # every rule's conda environment
    snakefile = repo / "Snakefile"
    uses_ours = snakefile.is_file() and "hierarchy.smk" in snakefile.read_text()
    (work / "Snakefile").write_text(snakefile.read_text() if uses_ours else MINIMAL_SNAKEFILE)
    if hierarchies is not None:
        (work / "config" / "hierarchy.yaml").write_text(yaml.safe_dump({"hierarchies": hierarchies}))
        # The codecs must train on a hierarchy that exists: the first one here.
        config = yaml.safe_load((work / "config" / "config.yaml").read_text())
        config["train"]["hierarchies"] = [hierarchies[0]["name"]]
        (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return work


def targets(names: list[str]) -> list[str]:
    return [f"results/hierarchy/{n}/{f}" for n in names for f in ("assignments.csv", "summary.json")] + FINAL


def planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, hierarchy wildcard or '') for every job of a dry run."""
    jobs = []
    for block in re.split(r"\n(?=rule |localrule )", output):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            wildcard = re.search(r"wildcards: .*?hierarchy=([\w-]+)", block)
            jobs.append((rule.group(1), wildcard.group(1) if wildcard else ""))
    return jobs


def test_dry_run_plans_one_job_per_enabled_hierarchy(repo, tmp_path):
    work = workflow_copy(repo, tmp_path)
    config = yaml.safe_load((work / "config" / "hierarchy.yaml").read_text())
    enabled = [name for name, h in config["hierarchies"].items() if h.get("enabled", True)]
    result = run_snakemake("-n", "-c1", *targets(enabled), cwd=work)
    assert result.returncode == 0, result.stderr + result.stdout
    jobs = planned_jobs(result.stdout)
    assert sorted(h for r, h in jobs if r == "hierarchy_build") == sorted(enabled)
    assert "clip_kmeans" not in enabled  # disabled offline: CLIP weights need the network
    # minilm_kmeans and minilm_nested share one embedding cache.
    assert [r for r, _ in jobs].count("hierarchy_embed") == 1
    assert [r for r, _ in jobs].count("hierarchy_wup_similarity") == 1


def test_bad_hierarchy_config_stops_the_workflow_naming_the_problem(repo, tmp_path):
    work = workflow_copy(repo, tmp_path, [{"name": "h", "method": "kmeans", "ks": [100, 10]}])
    result = run_snakemake("-n", "-c1", "results/hierarchy/agreement.csv", cwd=work)
    assert result.returncode != 0
    assert "strictly increasing" in result.stdout + result.stderr


@pytest.mark.slow
def test_editing_one_hierarchy_reruns_only_it_and_the_agreement(repo, tmp_path):
    """Build three cheap hierarchies for real (no embedder), edit one, dry-run."""
    paper = ["package:paper_hierarchy/paper_clip_kmeans_K10.csv", "package:paper_hierarchy/paper_clip_kmeans_K100.csv"]
    hierarchies = [
        {"name": "wn_split", "method": "wordnet_depth", "wordnet_cut": "split", "ks": [10, 100]},
        {"name": "wn_depth", "method": "wordnet_depth", "wordnet_cut": "depth", "ks": [10, 100]},
        {"name": "paper", "method": "file", "ks": [10, 100], "paths": paper},
    ]
    work = workflow_copy(repo, tmp_path, hierarchies)
    names = [h["name"] for h in hierarchies]
    built = run_snakemake("-c2", *targets(names), cwd=work, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    unchanged = run_snakemake("-n", "-c1", *targets(names), cwd=work)
    assert planned_jobs(unchanged.stdout) == []

    hierarchies[0]["ks"] = [10, 50]
    (work / "config" / "hierarchy.yaml").write_text(yaml.safe_dump({"hierarchies": hierarchies}))
    edited = run_snakemake("-n", "-c1", *targets(names), cwd=work)
    assert edited.returncode == 0, edited.stderr
    jobs = planned_jobs(edited.stdout)
    assert sorted(jobs) == sorted(
        [("hierarchy_build", "wn_split"), ("hierarchy_agreement", ""), ("hierarchy_figure", "")]
    )
    assert "Params have changed" in edited.stdout
