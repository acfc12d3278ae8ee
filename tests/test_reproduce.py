"""Reproducible from scratch: a fresh clone reproduces with `make run` or `dvc repro`; after
`dvc push`, a second clone restores every artifact with `make pull`, DVC and Snakemake have
nothing to do, and a later edit reruns exactly its jobs.

Runs the whole DAG on config/test.yaml (a few minutes on 2 cores), so it is slow-marked. It
clones the committed state of the repository: uncommitted changes are not part of it.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.slow

# a committer for the throwaway clones' commits
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def _env(clone: Path) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(clone / "src")  # the clone's code, not the working tree's
    env.update(DVC_NO_ANALYTICS="1", HF_HUB_OFFLINE="1")
    return env


def _run(cmd: list[str], cwd: Path, timeout: int = 1500) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=_env(cwd), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _clone(source: Path, target: Path, storage: Path, pull_models: bool = True) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(target)], check=True)
    _run([sys.executable, "-m", "dvc", "remote", "modify", "--local", "local", "url", str(storage)], target)
    if not pull_models:  # the first command pulls what it needs (workflow/rules/shipped.smk)
        return target
    # what `make run` does first: the shipped models from the remote inside the repository
    result = subprocess.run(
        ["bash", "scripts/pull-models.sh"],
        cwd=target,
        env={**_env(target), "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def _tiny_default(clone: Path) -> None:
    """The tiny configuration (config/test.yaml merged over the default, as a whole file: a
    user's edited config.yaml is whole too) stands in for the embedded default, with its
    hierarchies: the same DAG, minutes instead of half an hour. Committed, as a user's edit."""
    from coarse2fine.plan.config import load_study_config

    config_dir = clone / "config"
    config = load_study_config(config_dir / "config.yaml", config_dir / "test.yaml")
    config["hierarchy"]["config"] = "config/hierarchy.yaml"
    (config_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copyfile(config_dir / "hierarchy-test.yaml", config_dir / "hierarchy.yaml")
    subprocess.run(["git", "commit", "-qam", "test configuration"], cwd=clone, check=True, env=GIT_ENV)


def _make(target: str, clone: Path, *skip: str) -> subprocess.CompletedProcess:
    """`make <target>` in a clone, with this venv (VENV=) and the set-up steps it already has
    (`-o`: a clone has no venv of its own, and _clone pulled the shipped models)."""
    skipped = [arg for name in skip for arg in ("-o", name)]
    return _run(["make", *skipped, target, f"VENV={Path(sys.executable).parent.parent}"], clone)


# The tiny run's tables, committed: a change that moves any of its numbers fails here and shows
# in the diff of tests/golden/ when regenerated on purpose (C2F_UPDATE_GOLDEN=1 writes them).
GOLDEN = REPO / "tests" / "golden"
GOLDEN_TABLES = {
    "tiny-claim-c2f.md": "results/metrics/tables/paper_clip_kmeans/claim/c2f/claim.md",
    "tiny-summary.md": "results/metrics/tables/paper_clip_kmeans/summary.md",
}


def _compare_with_golden(clone: Path) -> None:
    update = os.environ.get("C2F_UPDATE_GOLDEN") == "1"
    moved = []
    for name, rel in GOLDEN_TABLES.items():
        fresh = (clone / rel).read_text()
        if update:
            GOLDEN.mkdir(exist_ok=True)
            (GOLDEN / name).write_text(fresh)
        elif fresh != (GOLDEN / name).read_text():
            diff = difflib.unified_diff(
                (GOLDEN / name).read_text().splitlines(), fresh.splitlines(), f"tests/golden/{name}", rel, lineterm=""
            )
            moved.append("\n".join(diff))
    assert not moved, (
        "the tiny run's numbers moved; if on purpose, regenerate with C2F_UPDATE_GOLDEN=1 and commit "
        "tests/golden/:\n" + "\n".join(moved)[:6000]
    )


# a hierarchy addressed by its name, as docs/reproducing.md shows
WORDNET_CUT = "hierarchies.wordnet_depth.wordnet_cut"


def _planned(clone: Path) -> str:
    return _run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], clone).stdout


def test_make_run_push_then_pull_restores_and_an_edit_reruns_only_its_jobs(tmp_path):
    """The team cache as users run it: clone A runs `make run` and `dvc push`es; clone B runs
    `make pull`: DVC is clean, Snakemake has nothing to do, and an edit is not missed."""
    storage = tmp_path / "storage"
    first = _clone(REPO, tmp_path / "first", storage)
    _tiny_default(first)

    _make("run", first, "pull-models")
    produced = sorted(p.relative_to(first).as_posix() for p in (first / "results").rglob("*") if p.is_file())
    produced = [p for p in produced if not p.startswith(("results/logs/", "results/benchmarks/"))]
    assert "results/figures/paper_clip_kmeans/top1_vs_bpp.png" in produced, produced
    _compare_with_golden(first)
    # `make run` recorded what it built: DVC and Snakemake agree nothing is to be done
    assert "up to date" in _run([sys.executable, "-m", "dvc", "status"], first).stdout
    assert "Nothing to be done" in _planned(first)
    _run([sys.executable, "-m", "dvc", "push"], first)
    subprocess.run(["git", "add", "dvc.lock", "metrics"], cwd=first, check=True)
    subprocess.run(["git", "commit", "-qm", "lock"], cwd=first, check=True, env=GIT_ENV)

    second = _clone(first, tmp_path / "second", storage)
    # Pulled outputs made from other settings than this checkout's are not restamped as current.
    hierarchy_file = second / "config" / "hierarchy.yaml"
    original = hierarchy_file.read_text()
    hierarchy_file.write_text(original.replace("wordnet_cut: split", "wordnet_cut: depth"))
    refused = subprocess.run(
        ["make", "-o", "setup", "pull", f"VENV={Path(sys.executable).parent.parent}"],
        cwd=second,
        env=_env(second),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert refused.returncode != 0 and "nothing restamped" in refused.stdout + refused.stderr, refused.stdout[-2000:]
    assert not (second / ".snakemake" / "metadata").exists() or not any((second / ".snakemake" / "metadata").iterdir())
    hierarchy_file.write_text(original)
    _make("pull", second, "setup")
    for rel in produced:
        assert (second / rel).read_bytes() == (first / rel).read_bytes(), rel
    assert "up to date" in _run([sys.executable, "-m", "dvc", "status"], second).stdout
    assert "Nothing to be done" in _planned(second)

    # An edit to a hierarchy nobody trains on: its jobs rerun, nothing is retrained or re-coded.
    hierarchy_file.write_text(original.replace("wordnet_cut: split", "wordnet_cut: depth"))
    planned = _planned(second)
    assert "rule hierarchy_build:" in planned and "wordnet_depth/assignments.csv" in planned, planned[-3000:]
    assert "params have changed since last execution" in planned
    for rule in ("train_codec", "train_codec_without_hierarchy", "train_baseline", "encode_bitstreams"):
        assert f"rule {rule}:" not in planned, rule
    hierarchy_file.write_text(original)

    # Training on the other hierarchy: only codecs whose loss reads it train again (c2f), and
    # only their views are measured; rd_only, the baselines, the anchors and CPIPS stay put.
    config_file = second / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    assert config["train"]["hierarchies"] == ["paper_clip_kmeans"]
    config["train"]["hierarchies"] = ["wordnet_depth"]
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    planned = _planned(second)
    assert "results/checkpoints/c2f/wordnet_depth/rp0/model.pt" in planned, planned[-3000:]
    for rule in ("train_codec_without_hierarchy", "train_baseline", "evaluate_anchor_views", "evaluate_anchor_cpips"):
        assert f"rule {rule}:" not in planned, rule
    outputs = " ".join(line for line in planned.splitlines() if line.strip().startswith("output:"))
    views = set(re.findall(r"results/metrics/views/learned/([^,\s]+)/views\.csv", outputs))
    assert views and all(v.startswith("c2f/wordnet_depth/") for v in views), views


def test_repro_then_experiment_on_a_hierarchy_reruns_only_its_jobs(tmp_path):
    """`dvc repro` from scratch on a fresh clone, then `dvc exp run` on a hierarchy tweak."""
    first = _clone(REPO, tmp_path / "first", tmp_path / "storage", pull_models=False)
    _tiny_default(first)
    # the first command of the clone: nothing pulled before it (the tiny configuration trains its
    # base and baselines, so it needs no shipped model; the pull is tested below)
    _run([sys.executable, "-m", "dvc", "repro"], first)
    # the pipeline's stages (the shipped models' .dvc files, never pulled here, say "not in cache")
    assert "up to date" in _run([sys.executable, "-m", "dvc", "status", "dvc.yaml"], first).stdout
    subprocess.run(["git", "add", "dvc.lock", "metrics"], cwd=first, check=True)
    subprocess.run(["git", "commit", "-qm", "lock"], cwd=first, check=True, env=GIT_ENV)

    # An experiment on a hierarchy nobody trains on (config/hierarchy.yaml is a DVC params file):
    # DVC reruns the stages, Snakemake reruns that hierarchy's jobs only; no checkpoint is touched.
    checkpoints = {p: p.read_bytes() for p in (first / "results" / "checkpoints").rglob("*.pt")}
    wordnet = first / "results" / "hierarchy" / "wordnet_depth" / "assignments.csv"
    before = wordnet.read_bytes()
    exp = _run(
        [sys.executable, "-m", "dvc", "exp", "run", "-S", f"config/hierarchy.yaml:{WORDNET_CUT}=depth"],
        first,
    )
    log = exp.stdout + exp.stderr
    assert wordnet.read_bytes() != before
    assert "rule hierarchy_build" in log  # the edited hierarchy was rebuilt ...
    for rule in ("rule train_codec", "rule pretrain_base", "rule train_baseline", "rule encode_bitstreams"):
        assert rule not in log, rule  # ... and nothing was retrained or re-coded
    assert {p: p.read_bytes() for p in checkpoints} == checkpoints
    shown = _run([sys.executable, "-m", "dvc", "exp", "show", "--no-pager", "--csv"], first).stdout
    assert "wordnet_cut" in shown or "hierarchies" in shown, shown[:2000]
    metrics = _run([sys.executable, "-m", "dvc", "metrics", "show", "--json"], first).stdout
    # the headline: each claim's coarse verdict and BD-accuracies, the BD-rates (the rest in details.json)
    assert "coarse_verdict" in metrics and "bd_rate_psnr_vs_jpeg" in metrics, metrics[:2000]
    assert "balanced" in (first / "results" / "metrics" / "details.json").read_text()


def test_each_documented_command_works_as_the_first_command_of_a_fresh_clone(tmp_path):
    """No `make pull-models` first: the plan lists the shipped models' pulls, DVC shows the
    metrics and plots kept in git, the experiments table lists the params."""
    clone = _clone(REPO, tmp_path / "clone", tmp_path / "storage", pull_models=False)
    assert not (clone / "models" / "base" / "c2f" / "model.pt").exists()
    planned = _planned(clone)
    assert "rule shipped_model:" in planned and "models/base/c2f/model.pt" in planned, planned[-3000:]
    dry = _make("dry-run", clone, "setup").stdout
    assert "rule train_codec:" in dry
    metrics = _run([sys.executable, "-m", "dvc", "metrics", "show", "--json"], clone)
    assert "coarse_verdict" in metrics.stdout and "failed to load" not in metrics.stderr
    plots = _run([sys.executable, "-m", "dvc", "plots", "show", "--json", "--split"], clone).stdout
    assert "metrics/plots/L1/c2f.csv" in plots, plots[:2000]
    shown = _run([sys.executable, "-m", "dvc", "exp", "show", "--no-pager", "--csv"], clone).stdout
    assert "train.steps" in shown and "K10_balanced" in shown, shown[:2000]
    # the first `snakemake --cores all` job a fresh clone runs: the pull of the model it needs
    _run([sys.executable, "-m", "snakemake", "--cores", "all", "models/base/c2f/model.pt"], clone)
    assert (clone / "models" / "base" / "c2f" / "model.pt").stat().st_size > 1_000_000
