"""One set of CPU kernels on every x86 machine, so the CPU does not act like a seed.

torch picks its vector kernels by the instruction set it finds (ATen's AVX2 or AVX-512 code,
oneDNN's JIT convolutions, MKL's BLAS paths), and kernels of different widths round
differently: the default's c2f job trained with AVX2 kernels forced on an AVX-512 machine has
104 of its 139 weight tensors different after 20 steps, and after 300 steps a coarse balanced
accuracy 6 points away (docs/results.md, "Machines"). So every process that imports the
package, before torch is imported, asks for AVX2 kernels from all three, which any x86 CPU of
the last decade has: a job then trains the same weights on an AVX-512 machine as on an AVX2
one, at some cost in speed (BENCHMARKS.md, "Pinned CPU kernels").

The pin is a default: a variable already set in the environment wins, and C2F_CPU_KERNELS=native
turns the pin off (torch's own choice, the fastest, not comparable across machines). A CPU
without AVX2, or a machine that is not x86, keeps torch's choice; `machine()` records what each
job actually ran with, and the training checkpoints keep it.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# The three libraries' own variables, each at its AVX2 setting.
PINNED_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}
OPT_OUT = "C2F_CPU_KERNELS"
X86 = ("x86_64", "amd64", "i686", "x86")


def _cpuinfo_field(name: str, cpuinfo: Path) -> str | None:
    """The first CPU's `name` line of /proc/cpuinfo (Linux); None where it cannot be read."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The first CPU's feature flags; an empty set where they cannot be read."""
    return set((_cpuinfo_field("flags", cpuinfo) or "").split())


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    return _cpuinfo_field("model name", cpuinfo) or platform.processor() or platform.machine()


def pin_cpu_kernels(environ=os.environ, flags: set[str] | None = None, arch: str | None = None) -> dict[str, str]:
    """Sets the pinned kernels' variables where the environment leaves them unset; returns what it set.

    Only on an x86 CPU that has AVX2 and FMA (asking ATen for AVX2 kernels on a CPU without them
    would crash on the first vector instruction); only when C2F_CPU_KERNELS is not "native"."""
    if environ.get(OPT_OUT, "").strip().lower() == "native":
        return {}
    if (arch or platform.machine()).lower() not in X86:
        return {}
    if not {"avx2", "fma"} <= (cpu_flags() if flags is None else flags):
        return {}
    set_now = {name: value for name, value in PINNED_KERNELS.items() if name not in environ}
    environ.update(set_now)
    return set_now


def machine() -> dict[str, object]:
    """What a job's numbers depend on beyond its code and settings: the CPU, the kernels torch
    actually dispatches to, the pins in force, torch's version and thread count."""
    import torch

    return {
        "cpu": cpu_name(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "kernel_pins": {name: os.environ.get(name, "") for name in PINNED_KERNELS},
        "torch": str(torch.__version__),  # a plain str: checkpoints load with weights_only=True
        "threads": torch.get_num_threads(),
    }
