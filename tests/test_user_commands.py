"""The user's own commands, as typed from the repository root (README): the Slurm profile by
name, the resources each cluster job asks for. The real Slurm run is tests/test_slurm.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REPO

BIN = Path(sys.executable).parent


def run_as_typed(command: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`command` through a shell in the repository root, the venv first on PATH (as after
    `make setup` and activating it, or with make's PATH)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", HF_HUB_OFFLINE="1")
    return subprocess.run(command, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def job_resources(dry_run_output: str, rule: str) -> list[dict]:
    """threads and resources of every job of `rule` in a dry-run's output."""
    jobs = []
    for block in dry_run_output.split("\nrule ")[1:]:
        if not block.startswith(f"{rule}:"):
            continue
        threads = int(re.search(r"threads: (\d+)", block).group(1))
        resources = dict(pair.split("=", 1) for pair in re.search(r"resources: (.*)", block).group(1).split(", "))
        jobs.append({"threads": threads, **resources})
    return jobs


def test_profile_slurm_resolves_from_the_repository_root():
    result = run_as_typed("snakemake --cores all --profile slurm -n --quiet rules")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no profile.yaml" not in result.stderr


@pytest.mark.timeout(300)
def test_training_jobs_ask_slurm_for_the_threads_memory_runtime_and_gpus_of_the_config(tmp_path):
    overlay = tmp_path / "resources.yaml"
    overlay.write_text("train:\n  resources:\n    finetune: {threads: 2, mem_mb: 1500, runtime: 7, gpus: 1}\n")
    result = run_as_typed(f"snakemake --cores all --profile slurm -n --configfile config/test.yaml {overlay} "
                          "--forceall stage_train")
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = job_resources(result.stdout, "train_codec")
    assert len(jobs) == 6
    for job in jobs:
        assert (job["threads"], job["mem_mb"], job["runtime"], job["gpu"]) == (2, "1500", "7", "1"), job
        assert "cpus_per_task" not in job  # the profile no longer overrides every rule's threads

    # ... and what the Slurm executor makes of one of them: its sbatch request
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    class Resources(dict):
        __getattr__ = dict.__getitem__

    resources = Resources(mem_mb=1500, runtime=7, gpu=1)
    job = SimpleNamespace(resources=resources, threads=jobs[0]["threads"], name="train_codec")
    params = {"run_uuid": "x", "slurm_logfile": "x.log", "comment_str": "rule_train_codec", "account": "",
              "partition": "", "workdir": str(REPO)}
    call = get_submit_command(job, params) + set_gres_string(job)
    for flag in ("--mem 1500", "-t 7", "--gpus=1"):
        assert flag in call, call
    assert re.search(r"--cpus-per-(task|gpu)=2", call), call


def test_light_rules_stay_on_the_submit_host():
    import snakemake.api  # noqa: F401  (the rules are read the way Snakemake reads them)

    text = (REPO / "Snakefile").read_text()
    local = re.search(r"localrules:\n((?:    \w+,\n)+)", text).group(1).split()
    local = {name.rstrip(",") for name in local}
    assert {"evaluate_tables", "evaluation_figures", "hierarchy_build", "base_checkpoint"} <= local
    assert not local & {"train_codec", "pretrain_base", "train_baseline", "encode_bitstreams", "evaluate_learned_views"}
