"""Registries of codecs and backbones (CompressAI style: a decorator maps a name to a class).

`build_codec(**codec.config)` rebuilds a codec of the same architecture, so a checkpoint can
store `codec.config` as its identity and be checked against the codec it is loaded into.

Each codec and backbone name has a JSON schema of its keyword arguments in
coarse2fine.architectures (torch-free, so the workflow checks its config when it starts);
registering a name without one is an error, and build_codec validates its arguments first, so
a checkpoint's codec_config is refused with a message naming the key before anything is built.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from torch import nn

from coarse2fine.architectures import BACKBONE_OPTIONS, CODEC_PROPERTIES, validate_architecture

CODECS: dict[str, type[nn.Module]] = {}
BACKBONES: dict[str, Callable[..., "object"]] = {}

T = TypeVar("T")


def register_codec(name: str) -> Callable[[T], T]:
    """Class decorator: make a codec buildable as `build_codec(name, ...)`."""

    def decorator(cls: T) -> T:
        if name in CODECS:
            raise ValueError(f"codec {name!r} is already registered")
        if name not in CODEC_PROPERTIES:
            raise ValueError(f"codec {name!r} has no schema in coarse2fine.architectures.CODEC_PROPERTIES")
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
            raise ValueError(f"backbone {name!r} has no schema in coarse2fine.architectures.BACKBONE_OPTIONS")
        BACKBONES[name] = fn  # type: ignore[assignment]
        return fn

    return decorator


def build_codec(name: str, **kwargs) -> nn.Module:
    """A fresh (untrained) codec of a registered architecture (ArchitectureError if the
    arguments do not fit its schema)."""
    validate_architecture({"name": name, **kwargs})
    return CODECS[name](**kwargs)
