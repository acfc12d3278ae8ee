"""coarse2fine: semantic coarse-to-fine progressive image compression."""

__version__ = "0.1.0"

# Before anything imports torch: the same CPU kernels on every x86 machine (kernels.py).
from .kernels import pin_cpu_kernels

pin_cpu_kernels()

from .lean_imports import defer_unused_compressai_imports  # noqa: E402

defer_unused_compressai_imports()
