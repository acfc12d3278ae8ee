"""Fuzzing the decoder and the checkpoint loader in isolated workers (bench/fuzz.py): every
case decodes, round-trips, or raises one of the project's named errors; none crashes, hangs,
runs out of memory or ends in another exception. The counts at scale are in BENCHMARKS.md."""

from __future__ import annotations

import sys

import pytest
import torch

from conftest import REPO

sys.path.insert(0, str(REPO))

from bench.fuzz import KINDS, campaign, markdown  # noqa: E402
from coarse2fine.models import build_codec  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint_with_tables(tmp_path_factory):
    torch.manual_seed(0)
    codec = build_codec("c2f", N=16, M=24, level_blocks=[8, 8, 8])
    codec.update(force=True)  # the tables travel in the checkpoint, as in trained ones
    path = tmp_path_factory.mktemp("fuzz") / "model.pt"
    torch.save({"codec_config": codec.config, "state_dict": codec.state_dict(), "entropy_tables_ready": True}, path)
    return path


def check(result: dict, cases: int) -> None:
    assert not result["failures"], markdown(result) + "\n" + "\n".join(map(str, result["failures"][:20]))
    for kind in KINDS:
        counts = result["counts"][kind]
        assert counts.get("ok", 0) + counts.get("named", 0) == cases, (kind, counts)
    # every kind exercises both sides: inputs that work and inputs that are refused by name
    assert all(result["counts"][k].get("named", 0) > 0 for k in KINDS)
    assert all(result["counts"][k].get("ok", 0) > 0 for k in ("garbage", "declared_size"))


@pytest.mark.timeout(300)
def test_fuzz_every_kind_in_isolated_workers(checkpoint_with_tables):
    check(campaign(checkpoint_with_tables, cases=40, seed=0, timeout=60), 40)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_fuzz_at_scale(checkpoint_with_tables):
    check(campaign(checkpoint_with_tables, cases=1500, seed=1, timeout=120), 1500)
