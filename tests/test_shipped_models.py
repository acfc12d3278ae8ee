"""The shipped models on a fresh clone: pulled offline from the DVC remote inside the repository,
verified, pulled again after removal, and a loud error when the remote is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def pull(clone: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(
        ["bash", "scripts/pull-models.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_pull_verify_remove_pull_again_and_fail_loudly_without_the_remote(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    first = pull(clone)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "models/base/c2f/model.pt: verified" in first.stdout
    base = clone / "models" / "base" / "c2f" / "model.pt"
    base.unlink()
    again = pull(clone)
    assert again.returncode == 0 and base.is_file() and "verified" in again.stdout
    base.unlink()
    shutil.rmtree(clone / ".dvc" / "cache", ignore_errors=True)
    shutil.rmtree(clone / "models" / "remote")
    missing = pull(clone)
    assert missing.returncode != 0 and "models/remote is missing" in missing.stderr
    assert "up to date" not in (missing.stdout + missing.stderr).lower()
