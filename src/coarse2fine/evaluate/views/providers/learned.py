"""Learned codecs as one more provider of decoded views: their real `.c2f` files, cut level by level.

The bitstreams stage cuts each stream after level k (exactly the bytes a receiver of k levels
holds), decodes the cut in a fresh process, checks it bit-exact against the encoder, and keeps
the decoded 8-bit image (`decoded/<stream>.L<k>.png`). This provider evaluates those images:
the rate is the size of the cut (sizes.csv), the likelihood estimate sits beside it, and the
pixels are checked against the digest the check recorded (decoded/index.csv), so a stale or
foreign file fails.

For a codec whose segments are not semantic levels (the progressive baselines: DeepHQ's
quantization layers, RMPGC's target rates), `layers_are_rate_points` makes each prefix a rate
point (`L1`, `L2`, ...) with no level, like an anchor's quality setting: its curve then serves
every level's panel.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from PIL import Image

from coarse2fine.coding.split import DECODED_INDEX

from .base import DecodedView, Provider, register_provider


@register_provider("learned")
def learned_provider(spec: dict) -> Provider:
    """spec: codec (name shown in tables), rate_point (e.g. rp0), decoded (the round-trip check's
    folder of decoded PNGs), sizes (the bitstreams stage's sizes.csv), layers_are_rate_points
    (optional, default false)."""
    required = (
        ("codec", "decoded", "sizes")
        if spec.get("layers_are_rate_points")
        else ("codec", "rate_point", "decoded", "sizes")
    )
    missing = [k for k in required if k not in spec]
    if missing:
        raise ValueError(f"learned provider settings lack {missing}")
    sizes = pd.read_csv(spec["sizes"])
    by_image = {image: rows.sort_values("level") for image, rows in sizes.groupby("image")}
    decoded_dir = Path(spec["decoded"])
    index_path = decoded_dir / DECODED_INDEX
    if not index_path.is_file():
        raise FileNotFoundError(
            f"{index_path}: the round-trip check wrote no index of decoded images (rerun check_bitstreams)"
        )
    digests = pd.read_csv(index_path).set_index(["stream", "level"])

    def provide(path: str, image: Image.Image) -> Iterator[DecodedView]:
        if path not in by_image:
            raise KeyError(f"{spec['sizes']}: no stream for image {path} (encode the same splits that are evaluated)")
        for row in by_image[path].itertuples():
            key = (row.stream, int(row.level))
            if key not in digests.index:
                raise KeyError(f"{index_path}: {row.stream} level {row.level} was not decoded by the round-trip check")
            entry = digests.loc[key]
            png = decoded_dir / entry["png"]
            if not png.is_file():
                raise FileNotFoundError(f"{png}: the round-trip check did not keep this decoded image")
            with Image.open(png) as decoded:
                pixels = np.array(decoded.convert("RGB"), dtype=np.uint8)
            if hashlib.sha256(pixels.tobytes()).hexdigest() != entry["image_sha256"]:
                raise ValueError(
                    f"{png}: pixels differ from what the round-trip check recorded for {row.stream} level {row.level}"
                )
            tensor = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
            if spec.get("layers_are_rate_points"):
                rate_point, level = f"L{int(row.level)}", None
            else:
                rate_point, level = spec["rate_point"], int(row.level)
            yield DecodedView(spec["codec"], rate_point, level, tensor, int(row.bytes), float(row.bpp_estimated))

    return provide
