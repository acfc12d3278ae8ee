"""Registries of codecs and backbones (CompressAI style: a decorator maps a name to a class).

`build_codec(**codec.config)` rebuilds a codec of the same architecture, so a checkpoint can
store `codec.config` as its identity and be checked against the codec it is loaded into.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from torch import nn

CODECS: dict[str, type[nn.Module]] = {}
BACKBONES: dict[str, Callable[..., "object"]] = {}

T = TypeVar("T")


def register_codec(name: str) -> Callable[[T], T]:
    """Class decorator: make a codec buildable as `build_codec(name, ...)`."""

    def decorator(cls: T) -> T:
        if name in CODECS:
            raise ValueError(f"codec {name!r} is already registered")
        CODECS[name] = cls  # type: ignore[assignment]
        cls.codec_name = name  # type: ignore[attr-defined]
        return cls

    return decorator


def register_backbone(name: str) -> Callable[[T], T]:
    """Decorator for a function (N, M, **options) -> Transforms of one backbone family."""

    def decorator(fn: T) -> T:
        if name in BACKBONES:
            raise ValueError(f"backbone {name!r} is already registered")
        BACKBONES[name] = fn  # type: ignore[assignment]
        return fn

    return decorator


def build_codec(name: str, **kwargs) -> nn.Module:
    """A fresh (untrained) codec of a registered architecture."""
    if name not in CODECS:
        raise KeyError(f"unknown codec {name!r}; known: {', '.join(sorted(CODECS))}")
    return CODECS[name](**kwargs)
