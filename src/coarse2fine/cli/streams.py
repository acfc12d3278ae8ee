"""`c2f encode`, `c2f decode`, `c2f info`: images to streams and back."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coarse2fine.files import png_bytes

from .common import DEFAULT_MODEL, max_pixels_argument, model_path, read_stream, set_threads, write_output


# -- many files in one call ---------------------------------------------------------------------
def _outputs(inputs: list[Path], output: Path | None, output_dir: Path | None, suffix: str, command: str):
    """(input, output) pairs: one input and -o as given; otherwise each output named after its
    input (its stem + suffix), in --output-dir or beside the input. Folders among the inputs are
    expanded to the files `command` reads in them."""
    if output is not None and output_dir is not None:
        raise ValueError("give -o (one output file) or --output-dir, not both")
    if output_dir is not None:
        if output_dir.exists() and not output_dir.is_dir():
            raise ValueError(f"--output-dir {output_dir}: is not a directory")
        output_dir.mkdir(parents=True, exist_ok=True)
    if len(inputs) == 1 and not inputs[0].is_dir():
        if output is None:
            base = output_dir if output_dir is not None else inputs[0].parent
            output = base / (inputs[0].stem + suffix)
        return [(inputs[0], output)]
    if output is not None:
        raise ValueError(f"-o names one output file; for several inputs give --output-dir (c2f {command} --help)")
    pairs = []
    for given in inputs:
        files = _expand(given, command) if given.is_dir() else [given]
        for path in files:
            base = output_dir if output_dir is not None else path.parent
            pairs.append((path, base / (path.stem + suffix)))
    if not pairs:
        raise ValueError(f"no input files in {', '.join(map(str, inputs))}")
    return pairs


def _expand(folder: Path, command: str) -> list[Path]:
    if command == "encode":
        from coarse2fine.imaging.photos import list_images

        return list_images(folder)
    return sorted(p for p in folder.rglob("*.c2f") if p.is_file())


def _each(pairs, work, command: str) -> int:
    """Run `work(input, output)` on every pair; a failure is reported per file and the rest go
    on; the exit status is 1 if any failed."""
    from coarse2fine.cli import user_errors

    failed = 0
    for source, target in pairs:
        try:
            work(source, target)
        except user_errors() as exc:
            failed += 1
            message = str(exc) if str(source) in str(exc) else f"{source}: {exc}"
            print(f"c2f {command}: error: {message}", file=sys.stderr)
    if failed and len(pairs) > 1:
        print(f"c2f {command}: {failed} of {len(pairs)} files failed", file=sys.stderr)
    return 1 if failed else 0


def _batch_arguments(p: argparse.ArgumentParser, what: str, suffix: str) -> None:
    p.add_argument("-o", "--output", type=Path, help=f"the {suffix} file to write (one input; default: beside it)")
    p.add_argument(
        "--output-dir",
        type=Path,
        help=f"folder for the outputs of several inputs, each named after its {what} (default: beside each)",
    )


# -- encode -----------------------------------------------------------------------------------
def encode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "images",
        type=Path,
        nargs="+",
        help="input images or folders of images (any size; grayscale, RGBA, 16-bit converted to 8-bit RGB)",
    )
    _batch_arguments(p, "image", ".c2f")
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
    pairs = _outputs(args.images, args.output, args.output_dir, ".c2f", "encode")
    codec = load_codec(model_path(args.model))  # once for every file
    view = encode_view(args.view, codec)

    def encode(image: Path, output: Path) -> None:
        x = image_to_tensor(open_view(image, view, args.max_pixels))
        data = encode_image(codec, x, args.max_pixels)
        write_output(output, data, source=image)
        stream = parse_bitstream(data)
        pixels = stream.header.pixels
        rates = ", ".join(
            f"L{k}: {size} B {size * 8 / pixels:.4f} bpp" for k, size in enumerate(stream.segment_sizes(), 1)
        )
        print(f"{output}: {stream.header.width}x{stream.header.height}, {stream.num_levels} levels ({rates})")

    return _each(pairs, encode, "encode")


# -- decode -----------------------------------------------------------------------------------
def decode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "streams", type=Path, nargs="+", help=".c2f files or folders of them (a prefix cut at a level boundary is fine)"
    )
    _batch_arguments(p, "stream", ".png")
    p.add_argument(
        "--model",
        type=Path,
        help="the codec checkpoint the streams were written with (default: the shipped default model)",
    )
    p.add_argument("--level", type=int, default=None, help="decode the first N levels (default: all present)")
    max_pixels_argument(p)


def run_decode(args) -> int:
    from PIL import Image

    from coarse2fine.coding import decode_bitstream, load_codec, to_uint8

    set_threads(args)
    pairs = _outputs(args.streams, args.output, args.output_dir, ".png", "decode")
    codec = load_codec(model_path(args.model))  # once for every file

    def decode(stream: Path, output: Path) -> None:
        decoded = decode_bitstream(codec, read_stream(stream), args.level, args.max_pixels)
        png = png_bytes(Image.fromarray(to_uint8(decoded.image).numpy(), mode="RGB"))
        write_output(output, png, source=stream)
        print(
            f"{output}: level {decoded.level} of {decoded.header.num_levels_total}, "
            f"{decoded.header.width}x{decoded.header.height}"
        )

    return _each(pairs, decode, "decode")


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
