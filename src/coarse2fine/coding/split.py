"""Bitstreams of a dataset split for one trained model, and their round-trip check.

`encode_split` writes one `.c2f` per image and `sizes.csv`, one row per image x level: the
actual size (bytes of the file cut after that level, header included), the actual bpp
(bytes * 8 / original pixels), the likelihood estimate beside it, and the SHA-256 digest of
the latents the encoder's quantiser gives for that prefix. The encoder decodes nothing (that
doubled the stage's cost). `check_split` runs in another process, from the files alone:
it decodes the file cut at each level boundary (exactly what a receiver of that prefix holds),
compares the latents with the encoder's digest, keeps the decoded 8-bit image and records its
digest in `decoded/index.csv`, so the evaluation reads what was checked.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd
import torch

from coarse2fine.container import parse_bitstream, truncate_to_level
from coarse2fine.data.manifest import read_manifest, spread_subset
from coarse2fine.files import png_bytes, write_atomic
from coarse2fine.imaging.photos import image_to_tensor
from coarse2fine.imaging.view import StudyView, open_view

from .checkpoint import load_codec
from .codec_io import compress_image, decode_bitstream, decode_every_level, estimated_bits, to_uint8
from .errors import BitstreamError

log = logging.getLogger(__name__)

# view: the study's view (imaging/view.py settings); None is the paper's 256x256
DEFAULT_SETTINGS = {"splits": ["val", "test"], "max_images": None, "view": None}
SIZE_COLUMNS = [
    "image",
    "stream",
    "split",
    "width",
    "height",
    "level",
    "bytes",
    "bpp",
    "bpp_estimated",
    "overhead",
    "latent_sha256",
]
DECODED_INDEX = "index.csv"  # in the check's decoded/ folder: stream, level, png, image_sha256


def _digest(t: torch.Tensor) -> str:
    t = t.detach().cpu()
    if t.is_floating_point():
        t = t + 0.0  # -0.0 (a masked negative latent) and 0.0 are the same latent: one digest
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def stream_name(image_path: str) -> str:
    """A flat, unique file name for an image's stream: folders joined by '__'."""
    return str(Path(image_path).with_suffix("")).replace("/", "__").replace("\\", "__") + ".c2f"


def encode_split(
    model: Path, manifest: Path, streams_dir: Path, sizes_csv: Path, settings: dict | None = None
) -> pd.DataFrame:
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    view = StudyView.from_settings(settings["view"])
    table, root = read_manifest(manifest, tuple(settings["splits"]))
    if settings["max_images"] is not None:
        table = spread_subset(table, int(settings["max_images"]))
    if table.empty:
        raise ValueError(f"{manifest}: no images in splits {settings['splits']}")
    codec = load_codec(model)
    streams_dir = Path(streams_dir)
    streams_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in table.itertuples():
        x = image_to_tensor(open_view(root / item.path, view))
        encoded = compress_image(codec, x)
        name = stream_name(item.path)
        write_atomic(streams_dir / name, encoded.data)
        stream = parse_bitstream(encoded.data)
        estimate = estimated_bits(codec, x)
        pixels = stream.header.pixels
        for level, size in enumerate(stream.segment_sizes(), 1):
            rows.append(
                {
                    "image": item.path,
                    "stream": name,
                    "split": item.split,
                    "width": stream.header.width,
                    "height": stream.header.height,
                    "level": level,
                    "bytes": size,
                    "bpp": size * 8 / pixels,
                    "bpp_estimated": estimate[level - 1] / pixels,
                    "overhead": size * 8 / estimate[level - 1] - 1,
                    "latent_sha256": _digest(encoded.level_latents[level - 1]),
                }
            )
        log.info("%s: %s bytes, %d levels", item.path, len(encoded.data), stream.num_levels)
    sizes = pd.DataFrame(rows, columns=SIZE_COLUMNS)
    Path(sizes_csv).parent.mkdir(parents=True, exist_ok=True)
    sizes.to_csv(sizes_csv, index=False)
    return sizes


def decoded_image_name(stream: str, level: int) -> str:
    """File name of the 8-bit PNG of a stream decoded at a level (in the check's `decoded/`)."""
    return f"{Path(stream).stem}.L{int(level)}.png"


def rate_control_report(sizes: pd.DataFrame, targets, tolerance: float = 0.10) -> list[dict]:
    """Per level of a rate-controlled codec (RMPGC): the target bpp, the actual bpp (mean, min,
    max over images) and the share of images within `tolerance` of the target."""
    report = []
    for level, target in enumerate(targets, 1):
        bpp = sizes.loc[sizes["level"] == level, "bpp"]
        error = (bpp / float(target) - 1).abs()
        report.append(
            {
                "level": level,
                "target_bpp": float(target),
                "mean_bpp": round(float(bpp.mean()), 5),
                "min_bpp": round(float(bpp.min()), 5),
                "max_bpp": round(float(bpp.max()), 5),
                "mean_relative_error": round(float(bpp.mean() / float(target) - 1), 4),
                "within_tolerance": round(float((error <= tolerance).mean()), 4),
                "tolerance": tolerance,
            }
        )
    return report


def _check_stream(codec, data: bytes, rows: pd.DataFrame, mismatches: list[str], decoded_dir) -> list[dict]:
    """One stream's rows of sizes.csv checked (its cut files' sizes, the latents each level
    decodes to), the decoded images written; mismatches appended; the decoded images' index rows.

    The cut file is what a receiver of the first `level` segments holds, and each is decoded by
    itself, except where the codec decodes its prefixes in one pass (DeepHQ): there the whole
    stream is decoded once, level by level, each cut file is still cut and sized, and the first
    level's cut file is decoded by itself and must agree with the whole stream's."""
    one_pass = hasattr(codec, "decompress_levels")
    every, index = None, []
    if one_pass:
        try:
            every = decode_every_level(codec, data)
        except BitstreamError as exc:
            mismatches.append(f"{rows['stream'].iloc[0]} (whole stream): {exc}")
            return index
    first_level = rows["level"].min()
    for row in rows.itertuples():
        where = f"{row.stream} level {row.level}"
        cut = truncate_to_level(data, row.level)
        if len(cut) != row.bytes:
            mismatches.append(f"{where}: cut is {len(cut)} bytes, sizes.csv says {row.bytes}")
        if every is not None and row.level > len(every):
            mismatches.append(f"{where}: the stream holds levels 1..{len(every)}")
            continue
        by_itself = every is None or row.level == first_level
        try:
            decoded = decode_bitstream(codec, cut, row.level) if by_itself else every[row.level - 1]
        except BitstreamError as exc:
            mismatches.append(f"{where} (cut file): {exc}")
            continue
        if by_itself and every is not None and _digest(decoded.latents) != _digest(every[row.level - 1].latents):
            mismatches.append(f"{where}: the cut file decodes to other latents than the whole stream")
        if _digest(decoded.latents) != row.latent_sha256:
            mismatches.append(f"{where} (cut file): decodes to other latents than the encoder's")
        elif decoded_dir is not None:
            index.append(_write_decoded(decoded, row, Path(decoded_dir)))
    return index


def _write_decoded(decoded, row, decoded_dir: Path) -> dict:
    """The decoded image as the PNG the evaluation reads; its index row."""
    from PIL import Image

    pixels = to_uint8(decoded.image)
    name = decoded_image_name(row.stream, row.level)
    # PNG is lossless at any level; level 1 is ~6x faster to write than the default 6,
    # which was a quarter of this job (the files are intermediate, not archived).
    write_atomic(decoded_dir / name, png_bytes(Image.fromarray(pixels.numpy()), compress_level=1))
    return {"stream": row.stream, "level": row.level, "png": name, "image_sha256": _digest(pixels)}


def check_split(model: Path, streams_dir: Path, sizes_csv: Path, report: Path, decoded_dir: Path | None = None) -> dict:
    """Decode every stream cut at every level, in this process, against sizes.csv.

    With `decoded_dir`, every decoded image is kept there as an 8-bit PNG (what a receiver
    would display): the evaluation reads these instead of decoding every stream a second time.
    """
    codec = load_codec(model)
    sizes = pd.read_csv(sizes_csv)
    if decoded_dir is not None:
        Path(decoded_dir).mkdir(parents=True, exist_ok=True)
    mismatches, index = [], []
    for stream, rows in sizes.groupby("stream", sort=False):
        data = (Path(streams_dir) / stream).read_bytes()
        index += _check_stream(codec, data, rows, mismatches, decoded_dir)
    if decoded_dir is not None:
        pd.DataFrame(index, columns=["stream", "level", "png", "image_sha256"]).to_csv(
            Path(decoded_dir) / DECODED_INDEX, index=False
        )
    result = {
        "streams": int(sizes["stream"].nunique()),
        "decodes": len(sizes),
        "mismatches": mismatches,
        "bit_exact": not mismatches,
        "threads": torch.get_num_threads(),
        "mean_bpp_per_level": [round(float(v), 5) for v in sizes.groupby("level")["bpp"].mean()],
    }
    targets = codec.config.get("target_bpp")
    if targets:
        result["rate_control"] = rate_control_report(sizes, targets)
    Path(report).write_text(json.dumps(result, indent=2) + "\n")
    return result
