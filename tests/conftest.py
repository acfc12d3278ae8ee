"""Shared fixtures: real files only (the sample photos, the real WordNet), built once per run."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coarse2fine.lean_imports import defer_unused_compressai_imports

REPO = Path(__file__).resolve().parents[1]
# The test process stands where a job's or a `c2f` call's entry point stands: CompressAI's
# point-cloud half stays out of it, as it does there (tests/test_lean_imports.py checks both ways).
defer_unused_compressai_imports()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

SAMPLE_SETTINGS = {
    "name": "sample",
    "kind": "sample",
    "teacher": "efficientnet_lite0",
    "split": {"seed": 42, "train": 0.7, "val": 0.2},
}


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the duration of a test, then as it was."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_manifest(tmp_path_factory) -> Path:
    """The sample dataset built from scratch into a temporary folder (about 15 s on 2 cores)."""
    from coarse2fine.data.build import build_manifest

    path = tmp_path_factory.mktemp("sample") / "manifest.csv"
    build_manifest(SAMPLE_SETTINGS, path)
    return path


def run_snakemake(*args: str, cwd: Path = REPO, timeout: int = 120) -> subprocess.CompletedProcess:
    """Snakemake from the project's venv, without touching the working tree's lock."""
    cmd = [sys.executable, "-m", "snakemake", "--nolock", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def save_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """An untrained tiny c2f codec (N=16, M=24, blocks 8/8/8) saved as a checkpoint: what the
    command-line and receiver tests code with."""
    import torch

    from coarse2fine.models import build_codec

    torch.manual_seed(seed)
    codec = build_codec("c2f", N=16, M=24, level_blocks=[8, 8, 8])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"codec_config": codec.config, "state_dict": codec.state_dict()}, path)
    return path


class Trickle(io.RawIOBase):
    """A pipe-like source: read() returns at most `piece` bytes at a time."""

    def __init__(self, data: bytes, piece: int):
        self.data, self.piece, self.pos = data, piece, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.piece if n is None or n < 0 else min(n, self.piece)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk
