"""Registries of codecs and backbones (CompressAI style: a decorator maps a name to a class).

`build_codec(**codec.config)` rebuilds a codec of the same architecture, so a checkpoint can
store `codec.config` as its identity and be checked against the codec it is loaded into.

Each codec and backbone name has a JSON schema of its keyword arguments beside it, gathered
in models/schema.py (torch-free, so the workflow checks its config when it starts); registering
a name without one is an error, and build_codec validates its arguments first, so a
checkpoint's codec_config is refused with a message naming the key before anything is built.

The package imports its codecs on first use, not when it is imported (so the schemas load
without torch): `registered()` imports every module that registers a name, explicitly.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from torch import nn

from .schema import BACKBONE_OPTIONS, CODEC_PROPERTIES, validate_architecture

CODECS: dict[str, type[nn.Module]] = {}
BACKBONES: dict[str, Callable[..., "object"]] = {}

T = TypeVar("T")


def register_codec(name: str) -> Callable[[T], T]:
    """Class decorator: make a codec buildable as `build_codec(name, ...)`."""

    def decorator(cls: T) -> T:
        if name in CODECS:
            raise ValueError(f"codec {name!r} is already registered")
        if name not in CODEC_PROPERTIES:
            raise ValueError(f"codec {name!r} has no schema in coarse2fine.models.schema.CODEC_PROPERTIES")
        CODECS[name] = cls  # type: ignore[assignment]
        cls.codec_name = name  # type: ignore[attr-defined]
        return cls

    return decorator


def register_backbone(name: str) -> Callable[[T], T]:
    """Decorator for a function (N, M, **options) -> Transforms of one backbone family."""

    def decorator(fn: T) -> T:
        if name in BACKBONES:
            raise ValueError(f"backbone {name!r} is already registered")
        if name not in BACKBONE_OPTIONS:
            raise ValueError(f"backbone {name!r} has no schema in coarse2fine.models.schema.BACKBONE_OPTIONS")
        BACKBONES[name] = fn  # type: ignore[assignment]
        return fn

    return decorator


def registered() -> tuple[dict[str, type[nn.Module]], dict[str, Callable[..., "object"]]]:
    """CODECS and BACKBONES with every codec and backbone of the package in them: their modules
    register themselves when imported (imported here on first use, a no-op after)."""
    from . import backbones, codec, hyperprior, tic  # noqa: F401
    from .deephq import codec as deephq_codec  # noqa: F401
    from .rmpgc import codec as rmpgc_codec  # noqa: F401

    return CODECS, BACKBONES


def build_codec(name: str, **kwargs) -> nn.Module:
    """A fresh (untrained) codec of a registered architecture (ArchitectureError if the
    arguments do not fit its schema)."""
    validate_architecture({"name": name, **kwargs})
    codecs, _ = registered()
    return codecs[name](**kwargs)


def build_backbone(backbone: str, N: int, M: int, **options):
    """The analysis, synthesis and hyper transforms of a registered backbone family."""
    _, backbones = registered()
    if backbone not in backbones:
        raise KeyError(f"unknown backbone {backbone!r}; known: {', '.join(sorted(backbones))}")
    return backbones[backbone](N, M, **options)
