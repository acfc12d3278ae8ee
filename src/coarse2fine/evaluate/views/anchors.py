"""Classical anchors through Pillow: JPEG and WebP over a quality grid, and JPEG 2000 with
quality layers decoded layer by layer (a classical progressive codec).

Every anchor yields, per image, (rate point, bytes, decoded RGB image) where bytes is the size
of exactly what the decoder read.

JPEG 2000 layer bytes. One codestream is encoded with N quality layers (target rates in bpp,
OpenJPEG rate allocation), LRCP progression (all packets of layer 1 first, then layer 2 ...),
one tile and PLT markers (the encoder's list of every packet's length, in codestream order).
With one tile-part, the first n layers are the first n * P packets (P = resolutions x
components x precincts = number of packets / N), so the prefix that holds them ends at
  offset(SOD) + 2 + sum(first n*P packet lengths).
We cut the codestream there, rewrite the tile-part length (Psot) to the cut, append the
2-byte EOC marker and decode that prefix: bytes = prefix + 2. A test checks that the prefix
decodes to exactly the image Pillow's decoder gives when asked for n layers of the full file.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Iterator

from PIL import Image

SOC, SOT, SOD, EOC, COD, PLT = 0xFF4F, 0xFF90, 0xFF93, 0xFFD9, 0xFF52, 0xFF58


class CodestreamError(ValueError):
    """A JPEG 2000 codestream that is not laid out as the layer-prefix rule needs."""


@dataclass(frozen=True)
class AnchorView:
    rate_point: str
    num_bytes: int
    decoded: Image.Image


def _decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.convert("RGB")


class JPEG:
    name = "jpeg"

    def __init__(self, qualities=(5, 10, 20, 30, 50, 75, 90)):
        self.qualities = [int(q) for q in qualities]
        if not self.qualities or any(not 1 <= q <= 100 for q in self.qualities):
            raise ValueError(f"{self.name}: qualities must be integers in 1..100, got {qualities}")

    def save_kwargs(self, quality: int) -> dict:
        # 4:2:0 chroma and optimised Huffman tables: what a reasonable JPEG encoder writes.
        return {"format": "JPEG", "quality": quality, "optimize": True, "subsampling": "4:2:0"}

    def views(self, image: Image.Image) -> Iterator[AnchorView]:
        for q in self.qualities:
            buf = io.BytesIO()
            image.save(buf, **self.save_kwargs(q))
            yield AnchorView(f"q{q:03d}", buf.tell(), _decode(buf.getvalue()))


class WebP(JPEG):
    name = "webp"

    def save_kwargs(self, quality: int) -> dict:
        return {"format": "WEBP", "quality": quality, "method": 4}


class JPEG2000:
    name = "jpeg2000"

    def __init__(self, layer_bpp=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6)):
        self.layer_bpp = [float(b) for b in layer_bpp]
        if not self.layer_bpp or any(b <= 0 for b in self.layer_bpp) or self.layer_bpp != sorted(set(self.layer_bpp)):
            raise ValueError(f"jpeg2000: layer_bpp must be positive and strictly increasing, got {layer_bpp}")

    def encode(self, image: Image.Image) -> bytes:
        # OpenJPEG's 'rates' are compression ratios against the raw 24-bit RGB image.
        ratios = [24.0 / b for b in self.layer_bpp]
        buf = io.BytesIO()
        image.save(
            buf,
            format="JPEG2000",
            no_jp2=True,
            irreversible=True,
            progression="LRCP",
            quality_mode="rates",
            quality_layers=ratios,
            plt=True,
        )
        return buf.getvalue()

    def views(self, image: Image.Image) -> Iterator[AnchorView]:
        data = self.encode(image)
        for n, prefix in enumerate(layer_prefixes(data), start=1):
            yield AnchorView(f"layers{n:02d}", len(prefix), _decode(prefix))


def _segments(data: bytes):
    """Main and tile-part header marker segments up to the first SOD: (marker, position, body)."""
    if struct.unpack(">H", data[:2])[0] != SOC:
        raise CodestreamError("not a raw JPEG 2000 codestream (no SOC marker)")
    pos = 2
    while pos + 4 <= len(data):
        marker = struct.unpack(">H", data[pos : pos + 2])[0]
        if marker == SOD:
            yield marker, pos, b""
            return
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        yield marker, pos, data[pos + 4 : pos + 2 + length]
        pos += 2 + length
    raise CodestreamError("codestream ends before the first SOD marker")


def _plt_lengths(body: bytes) -> list[int]:
    # Iplt: 7 bits per byte, most significant first, high bit set on every byte but the last.
    lengths, value = [], 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            lengths.append(value)
            value = 0
    return lengths


def layer_prefixes(data: bytes) -> list[bytes]:
    """For an LRCP, single-tile JPEG 2000 codestream with PLT markers: the decodable prefix that
    holds the first n quality layers, for n = 1..N (the last one is the whole codestream)."""
    num_layers = sot_pos = sod_pos = None
    packets: list[int] = []
    for marker, pos, body in _segments(data):
        if marker == COD:
            if body[1] != 0:
                raise CodestreamError(f"progression order {body[1]} is not LRCP (0)")
            num_layers = struct.unpack(">H", body[2:4])[0]
        elif marker == SOT:
            sot_pos = pos
            if body[6] != 0 or body[7] not in (0, 1):  # TPsot, TNsot
                raise CodestreamError(f"{body[7]} tile-parts; the prefix rule needs exactly one")
        elif marker == PLT:
            packets += _plt_lengths(body)
        elif marker == SOD:
            sod_pos = pos
    if num_layers is None or sot_pos is None or sod_pos is None:
        raise CodestreamError("codestream lacks a COD, SOT or SOD marker")
    if not packets or len(packets) % num_layers:
        raise CodestreamError(
            f"{len(packets)} PLT packet lengths do not split into {num_layers} layers (encode with plt=True)"
        )
    if struct.unpack(">H", data[-2:])[0] != EOC or sod_pos + 2 + sum(packets) != len(data) - 2:
        raise CodestreamError("packet lengths do not add up to the tile data: several tiles or a damaged codestream")
    per_layer = len(packets) // num_layers
    prefixes = []
    for n in range(1, num_layers + 1):
        end = sod_pos + 2 + sum(packets[: n * per_layer])
        prefix = bytearray(data[:end])
        struct.pack_into(">I", prefix, sot_pos + 6, end - sot_pos)  # Psot: the tile-part now ends here
        prefixes.append(bytes(prefix) + struct.pack(">H", EOC))
    return prefixes


ANCHORS = {cls.name: cls for cls in (JPEG, WebP, JPEG2000)}


def build_anchor(name: str, settings: dict | None = None):
    """An anchor codec by name with its grid from config (jpeg/webp: qualities; jpeg2000: layer_bpp)."""
    if name not in ANCHORS:
        raise KeyError(f"unknown anchor {name!r}; known: {', '.join(sorted(ANCHORS))}")
    return ANCHORS[name](**(settings or {}))
