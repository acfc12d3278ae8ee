"""coarse2fine: semantic coarse-to-fine progressive image compression."""

__version__ = "0.1.0"

from .lean_imports import defer_unused_compressai_imports

defer_unused_compressai_imports()
