"""`c2f encode`, `c2f decode`, `c2f info`: images to streams and back."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from coarse2fine.files import png_bytes

from .common import DEFAULT_MODEL, max_pixels_argument, model_path, read_stream, set_threads, write_output


# -- encode -----------------------------------------------------------------------------------
def encode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", type=Path, help="input image (any size; grayscale, RGBA, 16-bit converted to 8-bit RGB)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .c2f file to write")
    p.add_argument("--model", type=Path, help="codec checkpoint (model.pt; default: the shipped default model)")
    p.add_argument(
        "--view",
        default="native",
        help="what to code: native (the image as it is, default), model (squashed to the square view "
        "the model was trained at, as the study codes photos), or a size N (N x N)",
    )
    max_pixels_argument(p)


def encode_view(view: str, codec):
    """The StudyView `c2f encode --view` asks for (ValueError naming a bad value)."""
    from coarse2fine.imaging.view import StudyView

    if view == "native":
        return StudyView(None)
    if view == "model":
        if codec.trained_view is None:
            raise ValueError("--view model: this checkpoint does not record the view it was trained at; give a size")
        return StudyView(**codec.trained_view)
    if not view.isdigit():
        raise ValueError(f"--view must be native, model or a size in pixels, got {view!r}")
    return StudyView(int(view))


def run_encode(args) -> int:
    from coarse2fine.coding import encode_image, load_codec, parse_bitstream
    from coarse2fine.imaging.photos import image_to_tensor
    from coarse2fine.imaging.view import open_view

    set_threads(args)
    codec = load_codec(model_path(args.model))
    x = image_to_tensor(open_view(args.image, encode_view(args.view, codec), args.max_pixels))
    data = encode_image(codec, x, args.max_pixels)
    write_output(args.output, data, source=args.image)
    stream = parse_bitstream(data)
    pixels = stream.header.pixels
    rates = ", ".join(f"L{k}: {size} B {size * 8 / pixels:.4f} bpp" for k, size in enumerate(stream.segment_sizes(), 1))
    print(f"{args.output}: {stream.header.width}x{stream.header.height}, {stream.num_levels} levels ({rates})")
    return 0


# -- decode -----------------------------------------------------------------------------------
def decode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", type=Path, help="a .c2f file (a prefix cut at a level boundary is fine)")
    p.add_argument("-o", "--output", type=Path, required=True, help="PNG to write (8-bit RGB)")
    p.add_argument(
        "--model",
        type=Path,
        help="the codec checkpoint the stream was written with (default: the shipped default model)",
    )
    p.add_argument("--level", type=int, default=None, help="decode the first N levels (default: all present)")
    max_pixels_argument(p)


def run_decode(args) -> int:
    from PIL import Image

    from coarse2fine.coding import decode_bitstream, load_codec, to_uint8

    set_threads(args)
    data = read_stream(args.stream)
    decoded = decode_bitstream(load_codec(model_path(args.model)), data, args.level, args.max_pixels)
    write_output(
        args.output, png_bytes(Image.fromarray(to_uint8(decoded.image).numpy(), mode="RGB")), source=args.stream
    )
    print(
        f"{args.output}: level {decoded.level} of {decoded.header.num_levels_total}, "
        f"{decoded.header.width}x{decoded.header.height}"
    )
    return 0


# -- info -------------------------------------------------------------------------------------
def info_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", type=Path, help="a .c2f file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def stream_info(data: bytes) -> dict:
    """What `c2f info` shows: header fields and, per level present, bytes and actual bpp."""
    from coarse2fine.container import FORMAT_VERSION, parse_bitstream  # torch-free: info reads a header

    stream = parse_bitstream(data)
    h = stream.header
    cumulative = stream.segment_sizes()
    return {
        "format_version": FORMAT_VERSION,
        "model_id": h.model_id.hex(),
        "width": h.width,
        "height": h.height,
        "padded": list(h.padded_size),
        "pad_multiple": h.pad_multiple,
        "levels_present": stream.num_levels,
        "levels_total": h.num_levels_total,
        "file_bytes": len(data),
        "hyper_bytes": len(stream.hyper),
        "levels": [
            {
                "level": k,
                "channels": h.level_channels[k - 1],
                "segment_bytes": len(p),
                "bytes": size,
                "bpp": size * 8 / h.pixels,
            }
            for k, (p, size) in enumerate(zip(stream.levels, cumulative), 1)
        ],
    }


def default_model_identity() -> str | None:
    """The model identity of the shipped default model, None where it is not here. Its
    provenance records the identity beside the file's sha256: where the file is the one recorded,
    that is the answer without loading torch (`c2f info` stays instant); otherwise the model is
    loaded and hashed."""
    if not DEFAULT_MODEL.is_file():
        return None
    provenance = DEFAULT_MODEL.with_name("provenance.json")
    if provenance.is_file():
        import hashlib

        recorded = json.loads(provenance.read_text())
        digest = hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()
        if recorded.get("model_id") and recorded.get("sha256") == digest:
            return recorded["model_id"]
    from coarse2fine.coding import load_codec
    from coarse2fine.coding.identity import model_identity

    return model_identity(load_codec(DEFAULT_MODEL)).hex()


def run_info(args) -> int:
    info = stream_info(read_stream(args.stream))
    default = default_model_identity()
    info["model"] = (
        f"the default model ({DEFAULT_MODEL.parent.relative_to(DEFAULT_MODEL.parents[3])})"
        if default == info["model_id"]
        else "not the default model"
        if default
        else "unknown (no default model here)"
    )
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{args.stream}: c2f v{info['format_version']}, model {info['model_id']}: {info['model']}")
    print(
        f"image {info['width']}x{info['height']} (coded {info['padded'][1]}x{info['padded'][0]}), "
        f"levels {info['levels_present']} of {info['levels_total']}, {info['file_bytes']} bytes, "
        f"hyper-latent {info['hyper_bytes']} bytes"
    )
    print(f"{'level':>5} {'channels':>8} {'segment B':>10} {'total B':>9} {'bpp':>8}")
    for row in info["levels"]:
        print(f"{row['level']:>5} {row['channels']:>8} {row['segment_bytes']:>10} {row['bytes']:>9} {row['bpp']:>8.4f}")
    return 0
