"""Registries of codecs and backbones (CompressAI style: a decorator maps a name to a class).

A leaf: two dicts and their decorators, nothing imported from the codecs. A module registers
its codec or backbone family when it is imported; models/zoo.py imports every one of them at
module level and builds codecs by name, backbones/__init__.py imports the backbone families.

Each codec and backbone name has a JSON schema of its keyword arguments (coarse2fine.architectures,
torch-free, so the workflow checks its config when it starts); registering a name without one
is an error.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from coarse2fine.architectures import BACKBONE_OPTIONS, CODEC_PROPERTIES

CODECS: dict[str, type] = {}
BACKBONES: dict[str, Callable[..., object]] = {}

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
