"""What a provider is, and the registry of provider kinds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from PIL import Image


@dataclass
class DecodedView:
    """One decoded version of an image. `level` is the semantic level a learned codec's prefix
    decodes to (1 = coarsest); None for a stream that is not split by level (anchors)."""

    codec: str
    rate_point: str
    level: int | None
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], the original's size
    num_bytes: int | None  # None for the uncompressed reference
    bpp_estimated: float = math.nan
    # what producing it took, where the provider times it (a coding provider: encode_s, decode_s)
    seconds: dict = field(default_factory=dict)


# A provider: (image path as in the manifest, original RGB image in the study's view) -> views.
Provider = Callable[[str, Image.Image], Iterable[DecodedView]]

# kind -> factory(spec) -> Provider
PROVIDERS: dict[str, Callable[[dict], Provider]] = {}


def register_provider(kind: str):
    def decorator(factory):
        PROVIDERS[kind] = factory
        return factory

    return decorator
