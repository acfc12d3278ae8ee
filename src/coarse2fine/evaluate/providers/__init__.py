"""Providers of decoded views: each turns one original image into its decoded views, one per
(codec, rate point, level). Kinds (the `kind` of a provider spec, PROVIDERS): `reference`
(the uncompressed original), `anchor` (JPEG, WebP, JPEG 2000), `learned` (a coded model's
bitstream prefixes, as the round-trip check decoded them)."""

from __future__ import annotations

from . import anchor, learned, reference  # noqa: F401  (each registers its kind)
from .base import PROVIDERS, DecodedView, Provider, register_provider


def build_provider(spec: dict) -> Provider:
    """The provider a spec describes: {"kind": "reference"} | {"kind": "anchor", "name": ..,
    "settings": {..}} | {"kind": "learned", "codec": .., "rate_point": .., "decoded": .., "sizes": ..}."""
    kind = spec.get("kind")
    if kind not in PROVIDERS:
        raise ValueError(f"unknown provider kind {kind!r} ({' | '.join(sorted(PROVIDERS))})")
    return PROVIDERS[kind](spec)


__all__ = ["PROVIDERS", "DecodedView", "Provider", "build_provider", "register_provider"]
