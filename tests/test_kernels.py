"""The CPU kernels are pinned to AVX2 on x86 machines that have it, overridable, and recorded."""

import os
import subprocess
import sys

import pytest

from coarse2fine.kernels import OPT_OUT, PINNED_KERNELS, cpu_flags, machine, pin_cpu_kernels

AVX2 = {"avx2", "fma", "sse4_2"}


def test_pins_every_library_on_an_avx2_x86_machine():
    env = {}
    assert pin_cpu_kernels(env, flags=AVX2 | {"avx512f"}, arch="x86_64") == PINNED_KERNELS
    assert env == PINNED_KERNELS


def test_a_variable_already_set_wins():
    env = {"ATEN_CPU_CAPABILITY": "avx512"}
    set_now = pin_cpu_kernels(env, flags=AVX2, arch="x86_64")
    assert env["ATEN_CPU_CAPABILITY"] == "avx512"
    assert "ATEN_CPU_CAPABILITY" not in set_now
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2"


@pytest.mark.parametrize(
    "env, flags, arch",
    [
        ({OPT_OUT: "native"}, AVX2, "x86_64"),  # the user's opt-out
        ({}, {"sse4_2", "avx"}, "x86_64"),  # no AVX2: forcing it would crash on the first vector op
        ({}, AVX2, "aarch64"),  # not x86: the variables mean nothing there
    ],
)
def test_leaves_torch_its_own_choice(env, flags, arch):
    before = dict(env)
    assert pin_cpu_kernels(env, flags=flags, arch=arch) == {}
    assert env == before


def test_a_fresh_process_runs_the_pinned_kernels_even_if_torch_came_first():
    if not {"avx2", "fma"} <= cpu_flags():
        pytest.skip("this CPU has no AVX2: torch keeps its own kernels")
    env = {k: v for k, v in os.environ.items() if k not in PINNED_KERNELS and k != OPT_OUT}
    code = "import torch, coarse2fine; print(torch.backends.cpu.get_cpu_capability())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "AVX2"
    out = subprocess.run(
        [sys.executable, "-c", code], env={**env, OPT_OUT: "native"}, capture_output=True, text=True, check=True
    )
    if "avx512f" in cpu_flags():  # torch's own choice on this machine is wider
        assert out.stdout.strip() == "AVX512"


def test_machine_names_the_kernels_torch_dispatches_to():
    import torch

    record = machine()
    assert record["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert set(record["kernel_pins"]) == set(PINNED_KERNELS)
    assert type(record["torch"]) is str and record["torch"] == torch.__version__ and record["threads"] >= 1
