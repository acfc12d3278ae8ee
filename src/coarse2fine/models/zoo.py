"""Every architecture of the package, imported at module level, and the builders by name (as
CompressAI's zoo): importing this module registers each codec and backbone (registry.py)."""

from __future__ import annotations

from torch import nn

from coarse2fine.architectures import validate_architecture

from . import codec, hyperprior  # noqa: F401  (c2f, hyperprior: registered on import)
from .backbones import build_backbone
from .deephq import codec as deephq_codec  # noqa: F401
from .registry import BACKBONES, CODECS
from .rmpgc import codec as rmpgc_codec  # noqa: F401

__all__ = ["BACKBONES", "CODECS", "build_backbone", "build_codec"]


def build_codec(name: str, **kwargs) -> nn.Module:
    """A fresh (untrained) codec of a registered architecture (ArchitectureError if the
    arguments do not fit its schema)."""
    validate_architecture({"name": name, **kwargs})
    return CODECS[name](**kwargs)
