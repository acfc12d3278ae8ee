"""The classical anchors (JPEG, WebP, JPEG 2000; evaluate/views/anchors.py) as providers: one view per
quality setting, its rate the size of what the encoder wrote."""

from __future__ import annotations

from typing import Iterator

from PIL import Image

from coarse2fine.evaluate.views.anchors import build_anchor
from coarse2fine.imaging.photos import image_to_tensor

from .base import DecodedView, Provider, register_provider


@register_provider("anchor")
def anchor_provider(spec: dict) -> Provider:
    """spec: {"kind": "anchor", "name": jpeg | webp | jpeg2000, "settings": {...}}."""
    name = spec["name"]
    anchor = build_anchor(name, spec.get("settings"))

    def provide(path: str, image: Image.Image) -> Iterator[DecodedView]:
        for view in anchor.views(image):
            yield DecodedView(name, view.rate_point, None, image_to_tensor(view.decoded), view.num_bytes)

    return provide
