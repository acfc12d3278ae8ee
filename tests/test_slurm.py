"""The Slurm profile, for real: a single-node Slurm started and stopped by the test, the
embedded pipeline's training jobs (tiny test configuration) submitted through sbatch.

Needs root and the Debian packages slurm-wlm and munge (scripts/debian-packages.txt); skips
and says why where they cannot be had. Slow-marked: it runs real jobs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture
def slurm_cluster(tmp_path):
    missing = [
        tool
        for tool in ("sbatch", "slurmctld", "slurmd", "munged")
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()
    ]
    if missing:
        pytest.skip(f"Slurm is not installed here (missing {', '.join(missing)}; Debian packages slurm-wlm, munge)")
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd for a local cluster needs root")
    state = tmp_path / "slurm"
    start = subprocess.run(
        ["bash", str(REPO / "scripts" / "local-slurm.sh"), "start", str(state)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if start.returncode != 0:
        pytest.skip(f"the local Slurm cluster did not start: {start.stderr.strip()[-500:]}")
    yield state / "slurm.conf"
    subprocess.run(["bash", str(REPO / "scripts" / "local-slurm.sh"), "stop", str(state)], timeout=60)


def test_training_jobs_run_through_sbatch(tmp_path, slurm_cluster):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    # This one-node test cluster has no accounting database: the workflow profile of the clone
    # gets the two settings such a site needs (a site with accounting needs neither).
    with open(clone / "profiles" / "default" / "config.yaml", "a") as profile:
        profile.write(
            "slurm-status-command: squeue\nslurm-no-account: true\nslurm-keep-successful-logs: true\njobs: 4\n"
        )
    overlay = tmp_path / "resources.yaml"
    overlay.write_text("train:\n  resources:\n    finetune: {threads: 2, mem_mb: 1500, runtime: 7, gpus: 0}\n")
    env = dict(
        os.environ,
        SLURM_CONF=str(slurm_cluster),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(clone / "src"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    # The README's command exactly as typed, then the test's configuration and target, on a
    # submit host of one core (taskset): fewer than the 2 threads of a fine-tune.
    command = (
        "taskset -c 0 snakemake --cores all --profile slurm"
        f" --configfile config/test.yaml {overlay} --forceall stage_training"
    )
    result = subprocess.run(command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    checkpoints = sorted((clone / "results" / "checkpoints").rglob("model.pt"))
    # the pretrained base and its installed copy, 2 codecs x 3 rate points, and the 4 baseline
    # phase jobs of config/test.yaml
    assert len(checkpoints) == 12, checkpoints
    # Every training job went through sbatch: Slurm wrote a log for each.
    slurm_logs = list((clone / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert all(any(rule in str(p) for p in slurm_logs) for rule in ("train_codec", "pretrain_base", "train_baseline"))
    # base_checkpoint is a local rule: it never reached Slurm
    assert not any("base_checkpoint" in str(p) for p in slurm_logs)
    jobs = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%k|%T|%C|%m|%l"], env=env, capture_output=True, text=True
    )
    assert jobs.stdout.count("COMPLETED") >= 11, jobs.stdout
    # what each fine-tune asked Slurm for: the config's threads, memory and runtime
    train = [line.split("|") for line in jobs.stdout.splitlines() if line.startswith("rule_train_codec")]
    assert len(train) == 6, jobs.stdout
    for _, _, cpus, memory, limit in train:
        assert (cpus, memory, limit) == ("2", "1500M", "7:00"), (cpus, memory, limit)
    # ... and ran its command with those 2 threads, not the submit host's 1: Snakemake fills in
    # `{threads}` inside the job (the log's last command is the one that ran there).
    train_logs = list((clone / ".snakemake" / "slurm_logs" / "rule_train_codec").rglob("*.log"))
    assert len(train_logs) >= 3, train_logs
    for log in train_logs:
        commands = re.findall(r"Shell command: (.*)", log.read_text())
        assert commands and " --threads 2 " in commands[-1], (log, commands)
