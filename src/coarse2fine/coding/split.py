"""Bitstreams of a dataset split for one trained model, and their round-trip check.

`encode_split` writes one `.c2f` per image and `sizes.csv`, one row per image x level: the
actual size (bytes of the file cut after that level, header included), the actual bpp
(bytes * 8 / original pixels), the likelihood estimate beside it, and SHA-256 digests of the
decoded image (8-bit) and latents. Encoding already checks that decoding gives back exactly
the encoder's quantised latents at every level. `check_split` runs in another process: it
decodes every file at every level, and the file cut at each level boundary, and compares
digests, so a stream that decodes differently in a fresh process is caught.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd
import torch

from .checkpoint import load_codec
from .codec_io import compress_image, decode_bitstream, estimated_bits, to_uint8
from .container import parse_bitstream, truncate_to_level
from .errors import BitstreamError

log = logging.getLogger(__name__)

DEFAULT_SETTINGS = {"splits": ["val", "test"], "max_images": None}
SIZE_COLUMNS = ["image", "stream", "split", "width", "height", "level", "bytes", "bpp", "bpp_estimated",
                "overhead", "image_sha256", "latent_sha256"]


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


def stream_name(image_path: str) -> str:
    """A flat, unique file name for an image's stream: folders joined by '__'."""
    return str(Path(image_path).with_suffix("")).replace("/", "__").replace("\\", "__") + ".c2f"


def encode_split(model: Path, manifest: Path, streams_dir: Path, sizes_csv: Path, settings: dict | None = None) -> pd.DataFrame:
    from coarse2fine.data.images import image_to_tensor, open_rgb
    from coarse2fine.data.manifest import read_manifest

    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    table, root = read_manifest(manifest, tuple(settings["splits"]))
    if settings["max_images"] is not None:
        table = table.head(int(settings["max_images"]))
    if table.empty:
        raise ValueError(f"{manifest}: no images in splits {settings['splits']}")
    codec = load_codec(model)
    streams_dir = Path(streams_dir)
    streams_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in table.itertuples():
        x = image_to_tensor(open_rgb(root / item.path))
        encoded = compress_image(codec, x)
        name = stream_name(item.path)
        (streams_dir / name).write_bytes(encoded.data)
        stream = parse_bitstream(encoded.data)
        estimate = estimated_bits(codec, x)
        pixels = stream.header.pixels
        for level, size in enumerate(stream.segment_sizes(), 1):
            decoded = decode_bitstream(codec, encoded.data, level)
            expected = encoded.level_latents[level - 1]
            if not torch.equal(decoded.latents, expected):
                raise RuntimeError(f"{item.path}: level {level} does not decode to the encoder's latents")
            rows.append({
                "image": item.path, "stream": name, "split": item.split, "width": stream.header.width,
                "height": stream.header.height, "level": level, "bytes": size, "bpp": size * 8 / pixels,
                "bpp_estimated": estimate[level - 1] / pixels, "overhead": size * 8 / estimate[level - 1] - 1,
                "image_sha256": _digest(to_uint8(decoded.image)), "latent_sha256": _digest(decoded.latents),
            })
        log.info("%s: %s bytes, %d levels", item.path, len(encoded.data), stream.num_levels)
    sizes = pd.DataFrame(rows, columns=SIZE_COLUMNS)
    Path(sizes_csv).parent.mkdir(parents=True, exist_ok=True)
    sizes.to_csv(sizes_csv, index=False)
    return sizes


def decoded_image_name(stream: str, level: int) -> str:
    """File name of the 8-bit PNG of a stream decoded at a level (in the check's `decoded/`)."""
    return f"{Path(stream).stem}.L{int(level)}.png"


def check_split(model: Path, streams_dir: Path, sizes_csv: Path, report: Path, decoded_dir: Path | None = None) -> dict:
    """Decode every stream cut at every level, in this process, against sizes.csv.

    With `decoded_dir`, every decoded image is kept there as an 8-bit PNG (what a receiver
    would display): the evaluation reads these instead of decoding every stream a second time.
    """
    from PIL import Image

    codec = load_codec(model)
    sizes = pd.read_csv(sizes_csv)
    if decoded_dir is not None:
        Path(decoded_dir).mkdir(parents=True, exist_ok=True)
    mismatches = []
    for row in sizes.itertuples():
        data = (Path(streams_dir) / row.stream).read_bytes()
        cut = truncate_to_level(data, row.level)
        if len(cut) != row.bytes:
            mismatches.append(f"{row.stream} level {row.level}: cut is {len(cut)} bytes, sizes.csv says {row.bytes}")
        # The cut file is what a receiver of the first `level` segments holds. (The whole file
        # at this level was already decoded and compared in the encoder's process.)
        try:
            decoded = decode_bitstream(codec, cut, row.level)
        except BitstreamError as exc:
            mismatches.append(f"{row.stream} level {row.level} (cut file): {exc}")
            continue
        pixels = to_uint8(decoded.image)
        if _digest(pixels) != row.image_sha256 or _digest(decoded.latents) != row.latent_sha256:
            mismatches.append(f"{row.stream} level {row.level} (cut file): decodes differently from the encoder")
        elif decoded_dir is not None:
            Image.fromarray(pixels.numpy()).save(Path(decoded_dir) / decoded_image_name(row.stream, row.level))
    result = {"streams": int(sizes["stream"].nunique()), "decodes": len(sizes), "mismatches": mismatches,
              "bit_exact": not mismatches, "threads": torch.get_num_threads()}
    Path(report).write_text(json.dumps(result, indent=2) + "\n")
    return result
