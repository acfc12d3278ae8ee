"""coarse2fine: semantic coarse-to-fine progressive image compression."""

__version__ = "0.1.0"
