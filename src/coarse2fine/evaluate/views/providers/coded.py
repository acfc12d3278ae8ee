"""A trained model as a provider that codes on the fly: each image encoded into a real `.c2f`
stream, cut after every level, each cut decoded and rounded to 8 bits, as the bitstreams stage
and its round-trip check do in two jobs. Used where the study's frozen models meet photos the
bitstreams stage never coded (the confirmation on a labelled folder, workflow/rules/confirm.smk);
the rate is the size of the cut, the likelihood estimate beside it. Encoder and decoder run in
one process here; that a second process decodes the same pixels is what the main pipeline's
round-trip check shows for every model.
"""

from __future__ import annotations

import time
from typing import Iterator

from PIL import Image

from coarse2fine.imaging.photos import image_to_tensor

from .base import DecodedView, Provider, register_provider


@register_provider("coded")
def coded_provider(spec: dict) -> Provider:
    """spec: codec (name shown in tables), checkpoint (model.pt), rate_point (e.g. rp1), or
    layers_are_rate_points (each prefix its own rate point, no level: the baselines)."""
    from coarse2fine.coding import load_codec

    missing = [k for k in ("codec", "checkpoint") if k not in spec]
    if not spec.get("layers_are_rate_points") and "rate_point" not in spec:
        missing.append("rate_point")
    if missing:
        raise ValueError(f"coded provider settings lack {missing}")
    rate_point = None if spec.get("layers_are_rate_points") else spec["rate_point"]
    return coding_provider(load_codec(spec["checkpoint"]), spec["codec"], rate_point)


def coding_provider(codec, name: str, rate_point: str | None, max_pixels: int | None = None) -> Provider:
    """A loaded codec as a provider: every image coded, every cut decoded (timed: the whole
    stream's encoding, each cut's decoding). rate_point None: each prefix is its own rate point
    L<k> with no level (the baselines); otherwise every prefix is a level of `rate_point`."""
    from coarse2fine.coding import decode_bitstream, parse_bitstream, truncate_to_level
    from coarse2fine.coding.codec_io import compress_image, estimated_bits, to_uint8

    def provide(path: str, image: Image.Image) -> Iterator[DecodedView]:
        x = image_to_tensor(image)
        start = time.perf_counter()
        data = compress_image(codec, x, max_pixels).data
        encode_s = time.perf_counter() - start
        stream = parse_bitstream(data)
        estimate = estimated_bits(codec, x)
        pixels = stream.header.pixels
        for level, size in enumerate(stream.segment_sizes(), 1):
            start = time.perf_counter()
            decoded = decode_bitstream(codec, truncate_to_level(data, level), level, max_pixels)
            decode_s = time.perf_counter() - start
            pixels_8bit = to_uint8(decoded.image).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
            key = (f"L{level}", None) if rate_point is None else (rate_point, level)
            yield DecodedView(
                name,
                *key,
                pixels_8bit,
                int(size),
                float(estimate[level - 1] / pixels),
                {"encode_s": encode_s, "decode_s": decode_s},
            )

    return provide
