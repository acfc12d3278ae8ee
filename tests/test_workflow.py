"""The Snakemake workflow: config validation at start-up and a fast dry-run."""

from __future__ import annotations

import time

import yaml

from conftest import REPO, run_snakemake


def test_dry_run_is_fast_and_plans_the_pipeline(tmp_path):
    start = time.monotonic()
    result = run_snakemake("-n", "--quiet", "rules")
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    assert elapsed < 10, f"dry-run took {elapsed:.1f} s"


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
