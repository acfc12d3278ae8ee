"""A training job killed with SIGKILL resumes from its last checkpoint and ends exactly where an
uninterrupted run ends; the DDP path runs under torchrun with gloo and 2 CPU processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from coarse2fine.training import checkpoint as ckpt
from coarse2fine.training.loop import resume_path, train
from test_training import make_dataset, tiny_settings

STEPS, EVERY = 60, 4


def run_job(settings, dataset, out, *, launcher=(sys.executable, "-m", "coarse2fine.training"), wait=True):
    command = [
        *launcher,
        "train",
        "--settings",
        json.dumps(settings.to_dict()),
        "--manifest",
        str(dataset),
        "--output",
        str(out),
        "--log-csv",
        str(out.with_name("log.csv")),
        "--no-progress",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if wait:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkilled_job_resumes_to_the_same_end(tmp_path):
    dataset = make_dataset(tmp_path / "data")
    settings = tiny_settings(steps=STEPS, checkpoint_every=EVERY, log_every=EVERY, threads=1)
    out = tmp_path / "killed" / "model.pt"
    job = run_job(settings, dataset, out, wait=False)
    state, killed_at = resume_path(out), None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and job.poll() is None:
        if state.exists() and ckpt.load(state)["step"] >= EVERY:
            job.send_signal(signal.SIGKILL)
            killed_at = ckpt.load(state)["step"]
            break
        time.sleep(0.05)
    job.wait(timeout=60)
    assert killed_at is not None and killed_at < STEPS, "the job ended before it could be killed"
    assert job.returncode == -signal.SIGKILL and not out.exists()

    rerun = run_job(settings, dataset, out)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"resuming {state} from step" in rerun.stderr and not state.exists()
    resumed = torch.load(out, weights_only=True)
    assert resumed["step"] == STEPS
    log = pd.read_csv(out.with_name("log.csv"))
    assert list(log["step"]) == list(range(EVERY, STEPS + 1, EVERY))

    # The same job never interrupted ends with the same weights: batches, noise and learning
    # rate are functions of the step and of the saved random state.
    reference = tmp_path / "whole" / "model.pt"
    train(settings, dataset, reference, reference.with_name("log.csv"), progress=False)
    whole = torch.load(reference, weights_only=True)
    for name, tensor in whole["codec"].items():
        assert torch.equal(tensor, resumed["codec"][name]), name


def test_ddp_on_cpu_with_gloo(tmp_path):
    dataset = make_dataset(tmp_path / "data")
    settings = tiny_settings(steps=6, batch_size=1, checkpoint_every=3, log_every=3, device="cpu", threads=1)
    out = tmp_path / "ddp" / "model.pt"
    launcher = (
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "coarse2fine.training",
    )
    done = run_job(settings, dataset, out, launcher=launcher)
    assert done.returncode == 0, done.stderr[-3000:]
    final = torch.load(out, weights_only=True)
    assert final["world_size"] == 2 and final["step"] == 6
    log = pd.read_csv(out.with_name("log.csv"))
    assert list(log["step"]) == [3, 6] and log["bpp_1"].gt(0).all()
    # two ranks of one image each walk through the data twice as fast as one rank would
    assert log["epoch"].iloc[-1] == pytest.approx(6 * 2 / 3, abs=1e-3)
