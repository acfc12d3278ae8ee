"""A training job's process keeps the memory its steps free, for the next step.

Every step allocates and frees the same large tensors: the synthesis runs the three prefixes as
one batch of 24, 25 MB per activation at 128x128, and the classifier's activations are larger.
glibc's malloc serves blocks above its mmap threshold with fresh mappings and hands memory freed
at the top of its heap back to the kernel, so each step faulted in and zeroed those pages again:
about 46,000 page faults (180 MB) per step of the embedded default's rd_only fine-tune; keeping
the memory made its step and c2f's 1.13-1.14x faster on one thread (BENCHMARKS.md, "One
fine-tune step of the embedded default, profiled"). The process keeps what a step needs at its
peak (the peak RSS grew by 1-4 %).

Where memory comes from never enters the arithmetic: the weights after any number of steps are
the same bit for bit (tests/test_training.py; bench/train_step.py checks it on the default's
jobs). Where the C library is not glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import platform
import sys

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# glibc's defaults, as fixed values (the default also moves the mmap threshold up as blocks are freed)
DEFAULT_THRESHOLD = 128 * 1024
KEEP_THRESHOLD = 1 << 30  # no tensor of a CPU training step comes near it
KEEP_THRESHOLD_OLD_GLIBC = 32 << 20  # the largest mmap threshold glibc accepted before 2.35
NEVER_TRIM = 2**31 - 1


def _mallopt():
    """glibc's mallopt, or None where the process does not run on glibc."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def keep_freed_memory() -> bool:
    """Large blocks from the heap, and freed memory kept; False where that cannot be set."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    mapped = mallopt(M_MMAP_THRESHOLD, KEEP_THRESHOLD) or mallopt(M_MMAP_THRESHOLD, KEEP_THRESHOLD_OLD_GLIBC)
    return bool(mapped and mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))


def return_freed_memory() -> bool:
    """glibc's default thresholds as fixed values: what a process did before keep_freed_memory
    (for comparisons: tests/test_training.py, bench/train_step.py)."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, DEFAULT_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, DEFAULT_THRESHOLD))
