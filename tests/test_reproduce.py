"""Reproducible from scratch: a fresh clone reproduces with `dvc repro`; after `dvc push`, a
second fresh clone restores every artifact with `dvc pull` and Snakemake has nothing to do.

Runs the whole DAG on config/test.yaml (a few minutes on 2 cores), so it is slow-marked. It
clones the committed state of the repository: uncommitted changes are not part of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def _clone(source: Path, target: Path, storage: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(target)], check=True)
    _run([sys.executable, "-m", "dvc", "remote", "modify", "--local", "local", "url", str(storage)], target)
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


def test_repro_then_push_then_pull_has_nothing_to_do(tmp_path):
    storage = tmp_path / "storage"
    first = _clone(REPO, tmp_path / "first", storage)
    # The tiny configuration stands in for the embedded default (same DAG, minutes not half an hour).
    shutil.copyfile(first / "config" / "test.yaml", first / "config" / "config.yaml")
    shutil.copyfile(first / "config" / "hierarchy-test.yaml", first / "config" / "hierarchy.yaml")
    config = (
        (first / "config" / "config.yaml").read_text().replace("config/hierarchy-test.yaml", "config/hierarchy.yaml")
    )
    (first / "config" / "config.yaml").write_text(config)
    subprocess.run(
        ["git", "commit", "-qam", "test configuration"],
        cwd=first,
        check=True,
        env=GIT_ENV,
    )

    _run([sys.executable, "-m", "dvc", "repro"], first)
    produced = sorted(p.relative_to(first).as_posix() for p in (first / "results" / "figures").rglob("*.png"))
    assert any(p.endswith("top1_vs_bpp.png") for p in produced), produced
    assert "up to date" in _run([sys.executable, "-m", "dvc", "status"], first).stdout
    _run([sys.executable, "-m", "dvc", "push"], first)
    subprocess.run(["git", "add", "dvc.lock"], cwd=first, check=True)
    subprocess.run(
        ["git", "commit", "-qm", "lock"],
        cwd=first,
        check=True,
        env=GIT_ENV,
    )

    second = _clone(first, tmp_path / "second", storage)
    _run([sys.executable, "-m", "dvc", "pull"], second)
    for rel in produced:
        assert (second / rel).read_bytes() == (first / rel).read_bytes(), rel
    # A checkout sets file times in no particular order; `snakemake --touch` (what `make pull`
    # runs after `dvc pull`) restamps the outputs in DAG order without running anything.
    _run([sys.executable, "-m", "snakemake", "--touch", "--cores", "1", "--quiet"], second)
    for rel in produced:
        assert (second / rel).read_bytes() == (first / rel).read_bytes(), rel
    dry = _run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], second)
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]

    # An experiment on a hierarchy nobody trains on (config/hierarchy.yaml is a DVC params file):
    # DVC reruns the stages, Snakemake reruns that hierarchy's jobs only; no checkpoint is touched.
    checkpoints = {p: p.read_bytes() for p in (first / "results" / "checkpoints").rglob("*.pt")}
    wordnet = first / "results" / "hierarchy" / "wordnet_depth" / "assignments.csv"
    before = wordnet.read_bytes()
    exp = _run(
        [sys.executable, "-m", "dvc", "exp", "run", "-S", "config/hierarchy.yaml:hierarchies.1.wordnet_cut=depth"],
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
    plots = _run([sys.executable, "-m", "dvc", "plots", "show", "--json"], first).stdout
    assert "coarse top-1 (K=10) against rate" in plots and "top1_L1" in plots, plots[:2000]
