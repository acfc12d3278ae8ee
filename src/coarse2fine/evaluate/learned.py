"""Learned codecs as one more provider of decoded views: their real `.c2f` files, cut level by level.

For each image the provider reads the stream the bitstreams stage wrote, cuts it after level
k (coding.truncate_to_level: exactly the bytes a receiver of k levels holds) and decodes the
cut. The rate is the size of that cut; the likelihood estimate comes from sizes.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pandas as pd
from PIL import Image

from coarse2fine.evaluate.views import DecodedView, Provider


def learned_provider(spec: dict) -> Provider:
    """spec: codec (name shown in tables), rate_point (e.g. rp0), model (checkpoint), streams
    (folder of .c2f files), sizes (the bitstreams stage's sizes.csv)."""
    from coarse2fine.coding import decode_bitstream, load_codec, truncate_to_level

    missing = [k for k in ("codec", "rate_point", "model", "streams", "sizes") if k not in spec]
    if missing:
        raise ValueError(f"learned provider settings lack {missing}")
    codec = load_codec(spec["model"])
    sizes = pd.read_csv(spec["sizes"])
    by_image = {image: rows.sort_values("level") for image, rows in sizes.groupby("image")}
    streams = Path(spec["streams"])

    def provide(path: str, image: Image.Image) -> Iterator[DecodedView]:
        if path not in by_image:
            raise KeyError(f"{spec['sizes']}: no stream for image {path} (encode the same splits that are evaluated)")
        rows = by_image[path]
        data = (streams / rows["stream"].iloc[0]).read_bytes()
        for row in rows.itertuples():
            cut = truncate_to_level(data, int(row.level))
            if len(cut) != int(row.bytes):
                raise ValueError(f"{row.stream} level {row.level}: the cut is {len(cut)} bytes, sizes.csv says {row.bytes}")
            decoded = decode_bitstream(codec, cut, int(row.level))
            yield DecodedView(spec["codec"], spec["rate_point"], int(row.level), decoded.image, len(cut),
                              float(row.bpp_estimated))

    return provide
