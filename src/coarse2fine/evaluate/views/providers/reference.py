"""The uncompressed reference: the original photo in the study's view, as a provider."""

from __future__ import annotations

from typing import Iterator

from PIL import Image

from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC
from coarse2fine.imaging.photos import image_to_tensor

from .base import DecodedView, Provider, register_provider


def reference_provider(path: str, image: Image.Image) -> Iterator[DecodedView]:
    yield DecodedView(REFERENCE_CODEC, "original", None, image_to_tensor(image), None)


@register_provider("reference")
def build_reference(spec: dict) -> Provider:
    return reference_provider
