"""Providers of decoded views: each turns one original image into its decoded views, one per
(codec, rate point, level). Kinds (the `kind` of a provider spec): `reference` (the uncompressed
original), `anchor` (JPEG, WebP, JPEG 2000), `learned` (a coded model's bitstream prefixes, as
the round-trip check decoded them), `coded` (a trained model coding each image on the
fly). Each kind's module registers its factory when imported;
build_provider imports only the module of the kind asked for, so an anchor's job never loads
the coding stack."""

from __future__ import annotations

import importlib

from .base import PROVIDERS, DecodedView, Provider, register_provider

# kind -> the module that registers it
PROVIDER_MODULES = {"reference": ".reference", "anchor": ".anchor", "learned": ".learned", "coded": ".coded"}


def build_provider(spec: dict) -> Provider:
    """The provider a spec describes: {"kind": "reference"} | {"kind": "anchor", "name": ..,
    "settings": {..}} | {"kind": "learned", "codec": .., "rate_point": .., "decoded": .., "sizes": ..}."""
    kind = spec.get("kind")
    if kind not in PROVIDERS and kind in PROVIDER_MODULES:
        importlib.import_module(PROVIDER_MODULES[kind], __name__)
    if kind not in PROVIDERS:
        raise ValueError(f"unknown provider kind {kind!r} ({' | '.join(sorted(PROVIDER_MODULES))})")
    return PROVIDERS[kind](spec)


__all__ = ["PROVIDERS", "PROVIDER_MODULES", "DecodedView", "Provider", "build_provider", "register_provider"]
