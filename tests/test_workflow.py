"""The Snakemake workflow: config validation at start-up and a dry-run that plans every stage."""

from __future__ import annotations

import yaml

from conftest import REPO, run_snakemake


def test_dry_run_plans_every_stage():
    # How fast a dry-run is belongs to the benchmarks (bench/, BENCHMARKS.md), not to a test.
    result = run_snakemake("-n", "--forceall")
    assert result.returncode == 0, result.stderr
    for rule in (
        "dataset_manifest",
        "hierarchy_build",
        "base_checkpoint",
        "train_codec",
        "evaluate_claim",
        "encode_bitstreams",
        "check_bitstreams",
        "evaluate_learned_views",
        "evaluation_figures",
    ):
        assert rule in result.stdout, rule


def test_mistyped_config_key_fails_at_start_up_naming_it(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["dataset"]["splitt"] = config["dataset"].pop("split")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "splitt" in result.stdout + result.stderr


def test_misspelt_architecture_key_fails_at_start_up_naming_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "baselines:\n  rmpgc:\n    architecture: {name: rmpgc, backbone: conv, N: 64, M: 96, "
        "target_bpp: [0.1, 0.2], clasifier: resnet50}\n"
    )
    result = run_snakemake("-n", "--configfile", "config/config.yaml", str(bad))
    assert result.returncode != 0
    assert (
        "config baselines.rmpgc.architecture: Additional properties are not allowed ('clasifier' was unexpected)"
        in (result.stdout + result.stderr)
    )


def test_wrong_type_fails_naming_the_value(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("threads: many\n")
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "many" in result.stdout + result.stderr


def test_baselines_are_phase_jobs_coded_and_evaluated_unless_intermediate():
    result = run_snakemake("-n", "--forceall", "stage_evaluate", "--configfile", "config/test.yaml")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for job in ("hyperprior", "deephq_steps", "deephq", "rmpgc"):
        assert f"results/checkpoints/{job}/model.pt" in out, job
    assert "results/bitstreams/deephq/sizes.csv" in out and "results/bitstreams/rmpgc/sizes.csv" in out
    # intermediate phases are trained, never coded
    assert "results/bitstreams/hyperprior/" not in out and "results/bitstreams/deephq_steps/" not in out


def test_shipped_baselines_are_installed_and_their_chains_never_run():
    """The embedded default ships DeepHQ and RMPGC (trained longer than its budget allows): each
    is installed after a check of its settings; no phase of their chains is planned."""
    result = run_snakemake("-n", "-p", "--forceall", "stage_evaluate")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("rule baseline_checkpoint:") == 2 and "rule train_baseline:" not in out
    for job in ("deephq", "rmpgc"):
        assert f"--checkpoint models/baselines/{job}/model.pt" in out
        assert f"--retrain 'baselines.{job}.source: train'" in out
    assert "results/checkpoints/hyperprior/" not in out and "results/checkpoints/deephq_steps/" not in out


def test_baseline_config_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("baselines:\n  c2f: {architecture: {name: hyperprior}, lambdas: [0.01], steps: 1}\n")
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0 and "clash with codec names" in result.stdout + result.stderr
    bad.write_text("baselines:\n  rmpgc: {init: nowhere}\n")
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0 and "neither base/<codec> nor a baseline" in result.stdout + result.stderr


def training_commands(*args):
    result = run_snakemake("-n", "--forceall", "-p", *args)
    assert result.returncode == 0, result.stderr
    return result, [line for line in result.stdout.splitlines() if "-m coarse2fine.training" in line]


def test_the_view_reaches_every_training_job_and_the_base_is_shipped_or_pretrained(tmp_path):
    result, commands = training_commands("stage_training")
    finetunes = [c for c in commands if "--hierarchy " in c]  # the (codec, hierarchy, rate point) jobs
    assert finetunes and all('"view": 128' in c and '"view_scale": [0.5, 1.0]' in c for c in finetunes)
    assert "pretrain_base" not in result.stdout  # the shipped base is installed, not trained
    assert all("--init results/checkpoints/adapted/c2f/model.pt" in c for c in finetunes)
    # the adapted base is the shipped one, checked against the settings (train.adapt.source) ...
    adapted = [c for c in commands if "--output results/checkpoints/adapted/c2f/model.pt" in c]
    assert len(adapted) == 1 and "install-base --source shipped --checkpoint models/adapted/c2f/model.pt" in adapted[0]
    # ... or trained here from the base
    train_it = tmp_path / "adapt.yaml"
    train_it.write_text("train:\n  adapt: {source: train}\n")
    _, commands = training_commands("stage_training", "--configfile", str(train_it))
    adapt = [c for c in commands if "--output results/checkpoints/adapt/c2f/model.pt" in c]
    assert len(adapt) == 1 and "--init results/checkpoints/base/c2f/model.pt" in adapt[0]
    scratch = tmp_path / "scratch.yaml"
    scratch.write_text("train:\n  base: {source: scratch}\n")
    result, commands = training_commands("stage_training", "--configfile", str(scratch))
    pretrain = [c for c in commands if "--output results/checkpoints/pretrain/c2f/model.pt" in c]
    assert len(pretrain) == 1 and '"view_scale": [0.25, 1.0]' in pretrain[0] and '"labelled_only": false' in pretrain[0]


def test_diagnostic_variants_are_off_by_default_and_the_overlay_trains_each_with_its_own_settings():
    _, commands = training_commands("stage_training")
    assert not any("c2f_own_block/" in c for c in commands)
    result, commands = training_commands(
        "stage_evaluate", "--configfile", "config/config.yaml", "config/diagnostics.yaml"
    )
    own_block = [c for c in commands if "--output results/checkpoints/c2f_own_block/" in c]
    paper = [c for c in commands if "--output results/checkpoints/c2f_paper_weights/" in c]
    all_levels = [c for c in commands if "--output results/checkpoints/c2f_all_levels/" in c]
    plain = [c for c in commands if "--output results/checkpoints/c2f/" in c]
    assert len(own_block) == len(paper) == len(all_levels) == 1 and len(plain) == 3  # variants at rp1 only
    assert all("/rp1/" in c for c in own_block + paper + all_levels)
    assert all('"task_gradient": "own_block"' in c for c in own_block)
    assert all('"task_gradient": "all"' in c for c in plain + paper + all_levels)
    assert all('"task_weights": [0.5, 0.0, 0.0]' in c for c in plain)
    assert all('"task_weights": [0.5, 1.0, 2.0]' in c for c in paper + own_block + all_levels)
    assert all('"task_levels": "all"' in c for c in all_levels) and all('"task_levels": "random"' in c for c in plain)
    for method in ("c2f", "c2f_own_block", "c2f_paper_weights", "c2f_all_levels"):
        assert f"results/metrics/tables/paper_clip_kmeans/claim/{method}/claim.md" in result.stdout


def test_a_judge_that_trained_or_labelled_is_refused(tmp_path):
    bad = tmp_path / "judge.yaml"
    bad.write_text("evaluate:\n  judge: efficientnet_lite0\n")
    result = run_snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0 and "the judge must be independent" in result.stdout + result.stderr
