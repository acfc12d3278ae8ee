"""coarse2fine: semantic coarse-to-fine progressive image compression."""

__version__ = "0.1.0"

# Before anything imports torch: the same CPU kernels on every x86 machine (kernels.py). The one
# side effect of importing the package, since a job's kernels decide its numbers.
from .kernels import pin_cpu_kernels

pin_cpu_kernels()
