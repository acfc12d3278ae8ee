"""dvc.yaml as DVC's users read it: each stage depends on what its jobs run, the headline metrics
and the plots' data are small files in git that a fresh clone shows and diffs."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import dvc_stage_deps  # noqa: E402


def test_each_stage_depends_on_the_code_its_jobs_run_and_not_on_the_rest():
    result = subprocess.run(
        [sys.executable, "scripts/dvc_stage_deps.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    # an edit to the figure code starts the figures stage only, one to the training loop the training stage
    assert [s for s in stages if "src/coarse2fine/figures" in stages[s]["deps"]] == ["figures"]
    assert [s for s in stages if "src/coarse2fine/training" in stages[s]["deps"]] == ["training"]
    assert all("src/coarse2fine/plan" in s["deps"] for s in stages.values())  # it builds every stage's DAG
    assert "src/coarse2fine" not in sum((s["deps"] for s in stages.values()), [])
    # the shipped models are pulled by the stage's own jobs: DVC reads their provenance, not the files
    assert not any(dep == "models" or dep.endswith("model.pt") for s in stages.values() for dep in s["deps"])


def test_the_closure_follows_imports_and_the_command_tables(tmp_path):
    files = dvc_stage_deps.closure(["coarse2fine.training", "coarse2fine.training.__main__"])
    names = {str(p.relative_to(REPO / "src")) for p in files}
    # named only in the command table ("coarse2fine.training.base:install_run_command")
    assert "coarse2fine/training/base.py" in names
    assert "coarse2fine/models/registry.py" in names
    assert not any(n.startswith("coarse2fine/figures/") for n in names)


def test_headline_metrics_and_plot_data_are_in_git_where_dvc_yaml_declares_them():
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())
    evaluate = spec["stages"]["evaluate"]
    assert evaluate["metrics"] == [{"metrics/headline.json": {"cache": False, "persist": True}}]
    tracked = set(
        subprocess.run(["git", "ls-files", "metrics"], cwd=REPO, capture_output=True, text=True).stdout.split()
    )
    assert "metrics/headline.json" in tracked
    named = {path for plot in spec["plots"] if isinstance(plot, dict) for p in plot.values() for path in p["y"]}
    assert named and named <= tracked, sorted(named - tracked)
    headline = json.loads((REPO / "metrics" / "headline.json").read_text())
    assert {"judge", "images", "claim", "bd_rate_psnr_vs_jpeg"} <= set(headline)


def test_dvc_metrics_show_reads_the_headline_without_any_pull():
    shown = subprocess.run(
        [sys.executable, "-m", "dvc", "metrics", "show", "--json"], cwd=REPO, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert "failed to load" not in shown.stderr
    assert "coarse_verdict" in shown.stdout


def test_dvc_plots_draw_from_git_alone():
    """Every declared plot reads files in git: DVC refuses all plots while one is missing."""
    shown = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "--json", "--split"], cwd=REPO, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    plots = json.loads(shown.stdout)
    assert not plots.get("errors"), plots.get("errors")
    assert {"coarse_balanced_vs_bpp", "coarse_top1_vs_bpp", "class_top1_vs_bpp"} <= set(plots["data"])
