"""The Snakemake workflow: config validation at start-up and a dry-run that plans every stage."""

from __future__ import annotations

import yaml

from conftest import REPO, run_snakemake


def test_dry_run_plans_every_stage():
    # How fast a dry-run is belongs to the benchmarks (bench/, BENCHMARKS.md), not to a test.
    result = run_snakemake("-n", "--forceall")
    assert result.returncode == 0, result.stderr
    for rule in ("dataset_manifest", "hierarchy_build", "train_warmup", "train_codec",
                 "encode_bitstreams", "check_bitstreams", "evaluate_learned_views", "evaluation_figures"):
        assert rule in result.stdout, rule


def test_mistyped_config_key_fails_at_start_up_naming_it(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["dataset"]["splitt"] = config["dataset"].pop("split")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "splitt" in result.stdout + result.stderr


def test_wrong_type_fails_naming_the_value(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("threads: many\n")
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "many" in result.stdout + result.stderr


def test_baselines_are_phase_jobs_coded_and_evaluated_unless_intermediate():
    result = run_snakemake("-n", "--forceall", "stage_evaluate")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for job in ("hyperprior", "deephq_steps", "deephq", "rmpgc"):
        assert f"results/checkpoints/{job}/model.pt" in out, job
    assert "results/bitstreams/deephq/sizes.csv" in out and "results/bitstreams/rmpgc/sizes.csv" in out
    # intermediate phases are trained, never coded
    assert "results/bitstreams/hyperprior/" not in out and "results/bitstreams/deephq_steps/" not in out


def test_baseline_config_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("baselines:\n  c2f: {architecture: {name: hyperprior}, lambdas: [0.01], steps: 1}\n")
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0 and "clash with codec names" in result.stdout + result.stderr
    bad.write_text("baselines:\n  rmpgc: {init: nowhere}\n")
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0 and "neither warmup/<codec> nor a baseline" in result.stdout + result.stderr


def test_resize_shorter_reaches_the_fine_tunes_only(tmp_path):
    extra = tmp_path / "resize.yaml"
    extra.write_text("train:\n  resize_shorter: 160\n")
    result = run_snakemake("-n", "--forceall", "-p", "stage_train", "--configfile", str(extra))
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if "-m coarse2fine.training" in line]
    finetunes = [c for c in commands if "--hierarchy " in c]  # the (codec, hierarchy, rate point) jobs
    warmups = [c for c in commands if "results/checkpoints/warmup/" in c and "--output results/checkpoints/warmup/" in c]
    assert finetunes and warmups
    assert all('"resize_shorter": 160' in c for c in finetunes)
    assert not any("resize_shorter" in c for c in warmups)
    plain = run_snakemake("-n", "--forceall", "-p", "stage_train")  # unset: not in any job's settings
    assert plain.returncode == 0 and "resize_shorter" not in plain.stdout
