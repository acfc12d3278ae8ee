"""`c2f encode`, `c2f decode`, `c2f info`, `c2f truncate`: images to streams, streams to
pictures, and streams cut to what a receiver gets.

Every input is checked with the standard library and Pillow alone (the file is there, the image
decodes, the stream's header and segments are sound) before the model, and torch, is loaded.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

from .common import (
    STDIO,
    Lazy,
    check_target,
    default_model,
    device_argument,
    is_stdio,
    load_model,
    max_pixels_argument,
    model_path,
    read_input,
    read_stream,
    status,
    stdout_carries_data,
    strict_argument,
    warn,
    write_output,
)


def _stdin_name(path, output: bool = False) -> str:
    if is_stdio(path):
        return "<standard output>" if output else "<standard input>"
    return str(path)


# -- many files in one call ---------------------------------------------------------------------
def _outputs(inputs: list[Path], output: Path | None, output_dir: Path | None, suffix: str, command: str):
    """(input, output) pairs: one input and -o as given; otherwise each output named after its
    input (its stem + suffix), in --output-dir or beside the input. Folders among the inputs are
    expanded to the files `command` reads in them. Standard input (`-`) is the only input when
    it is one, and its output is standard output unless -o names a file."""
    if output is not None and output_dir is not None:
        raise ValueError("give -o (one output file) or --output-dir, not both")
    if any(is_stdio(p) for p in inputs):
        if len(inputs) > 1:
            raise ValueError("- (standard input) must be the only input")
        if output_dir is not None:
            raise ValueError("standard input has no file name to name an output after: give -o FILE (or -o -)")
        return [(inputs[0], output if output is not None else Path(STDIO))]
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
    on; the exit status is 1 if any failed. Data written to standard output keeps it to itself."""
    from coarse2fine.cli import user_errors

    failed = 0
    with stdout_carries_data(any(is_stdio(target) for _, target in pairs)):
        for source, target in pairs:
            try:
                work(source, target)
            except BrokenPipeError:
                raise
            except user_errors() as exc:
                failed += 1
                name = _stdin_name(source)
                message = str(exc) if name in str(exc) else f"{name}: {exc}"
                print(f"c2f {command}: error: {message}", file=sys.stderr)
    if failed and len(pairs) > 1:
        print(f"c2f {command}: {failed} of {len(pairs)} files failed", file=sys.stderr)
    return 1 if failed else 0


def _batch_arguments(p: argparse.ArgumentParser, what: str, suffix: str) -> None:
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help=f"the {suffix} file to write, - for standard output (one input; default: beside it, or standard "
        f"output for standard input)",
    )
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
        help="input images or folders of images, or - for standard input (any size; grayscale, RGBA, 16-bit "
        "converted to 8-bit RGB)",
    )
    _batch_arguments(p, "image", ".c2f")
    p.add_argument("--model", type=Path, help="codec checkpoint (model.pt; default: the shipped default model)")
    p.add_argument(
        "--view",
        default="native",
        help="what to code: native (the image as it is, default), model (squashed to the square view "
        "the model was trained at, as the study codes photos), or a size N (N x N)",
    )
    device_argument(p)
    max_pixels_argument(p)


def check_view(view: str) -> None:
    """--view's spelling, checked before the model is loaded."""
    if view not in ("native", "model") and not view.isdigit():
        raise ValueError(f"--view must be native, model or a size in pixels, got {view!r}")


def encode_view(view: str, codec):
    """The StudyView `c2f encode --view` asks for (ValueError naming a bad value)."""
    from coarse2fine.imaging.view import StudyView

    check_view(view)
    if view == "native":
        return StudyView(None)
    if view == "model":
        if codec.trained_view is None:
            raise ValueError("--view model: this checkpoint does not record the view it was trained at; give a size")
        return StudyView(**codec.trained_view)
    return StudyView(int(view))


def read_image(source: Path, max_pixels: int | None):
    """The picture at `source` (`-`: standard input) as 8-bit RGB, by the project's one reader:
    Pillow only, so an unreadable image is named before torch is imported."""
    from coarse2fine.imaging.photos import open_rgb

    if is_stdio(source):
        return open_rgb(io.BytesIO(read_input(source, "image")), max_pixels, name="<standard input>")
    return open_rgb(source, max_pixels)


def run_encode(args) -> int:
    check_view(args.view)
    pairs = _outputs(args.images, args.output, args.output_dir, ".c2f", "encode")
    model = model_path(args.model)

    def load():
        codec = load_model(args, model)  # once for every file
        return codec, encode_view(args.view, codec)

    loaded = Lazy(load)

    def encode(image: Path, output: Path) -> None:
        from coarse2fine.container import parse_bitstream

        check_target(output, image, "stream")
        picture = read_image(image, args.max_pixels)
        codec, view = loaded()
        from coarse2fine.coding import encode_image
        from coarse2fine.imaging.photos import image_to_tensor

        data = encode_image(codec, image_to_tensor(view.image(picture)), args.max_pixels)
        write_output(output, data, source=None if is_stdio(image) else image)
        stream = parse_bitstream(data)
        pixels = stream.header.pixels
        rates = ", ".join(
            f"L{k}: {size} B {size * 8 / pixels:.4f} bpp" for k, size in enumerate(stream.segment_sizes(), 1)
        )
        status(
            args,
            f"{_stdin_name(output, True)}: {stream.header.width}x{stream.header.height}, "
            f"{stream.num_levels} levels ({rates})",
        )

    return _each(pairs, encode, "encode")


# -- decode -----------------------------------------------------------------------------------
def decode_arguments(p: argparse.ArgumentParser) -> None:
    from .pictures import LOSSLESS, quality

    p.add_argument(
        "streams",
        type=Path,
        nargs="+",
        help=".c2f files or folders of them, or - for standard input (a stream cut anywhere after its first "
        "level decodes its complete levels)",
    )
    _batch_arguments(p, "stream", ".png")
    p.add_argument(
        "--model",
        type=Path,
        help="the codec checkpoint the streams were written with (default: the shipped default model)",
    )
    p.add_argument("--level", type=int, default=None, help="decode the first N levels (default: all present)")
    p.add_argument(
        "--quality",
        type=quality,
        metavar="Q",
        help=f"write a lossy .jpg/.jpeg/.webp output at quality Q (1..100); without it the picture is written "
        f"lossless, in the format its extension names ({', '.join(sorted(LOSSLESS))})",
    )
    strict_argument(p)
    device_argument(p)
    max_pixels_argument(p)


def received_stream(args, source, data: bytes):
    """What arrived of a stream (torch-free: corruption and unreadable headers are named here),
    with the cut refused under --strict and announced otherwise."""
    from coarse2fine.container import parse_received
    from coarse2fine.errors import BitstreamError

    received = parse_received(data)
    cut = received.cut
    if cut is not None:
        what = cut.describe(received.stream.header.num_levels_total)
        if getattr(args, "strict", False):
            raise BitstreamError(f"{_stdin_name(source)}: the stream is cut: {what} (--strict)")
        warn(args, f"{_stdin_name(source)}: the stream is cut: {what}")
    level = getattr(args, "level", None)
    if level is not None and not 1 <= level <= received.stream.num_levels:
        lost = f"; {cut.describe(received.stream.header.num_levels_total)}" if cut else ""
        raise BitstreamError(
            f"level {level} is not in this stream (it holds levels 1..{received.stream.num_levels}{lost})"
        )
    return received


def run_decode(args) -> int:
    from .pictures import picture_bytes, picture_format

    pairs = _outputs(args.streams, args.output, args.output_dir, ".png", "decode")
    model = model_path(args.model)

    def load():
        return load_model(args, model)  # once for every file

    codec = Lazy(load)

    def decode(stream: Path, output: Path) -> None:
        check_target(output, stream, "picture")
        how = picture_format(output, args.quality)  # named before any work
        data = read_stream(stream)
        received_stream(args, stream, data)
        from PIL import Image

        from coarse2fine.coding import decode_bitstream, to_uint8

        decoded = decode_bitstream(codec(), data, args.level, args.max_pixels, allow_cut=True)
        picture = picture_bytes(Image.fromarray(to_uint8(decoded.image).numpy()), how)
        write_output(output, picture, source=None if is_stdio(stream) else stream)
        status(
            args,
            f"{_stdin_name(output, True)}: level {decoded.level} of {decoded.header.num_levels_total}, "
            f"{decoded.header.width}x{decoded.header.height}",
        )

    return _each(pairs, decode, "decode")


# -- info -------------------------------------------------------------------------------------
def info_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", type=Path, help="a .c2f file, or - for standard input")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    strict_argument(p)


def cut_fields(cut, levels_total: int) -> dict | None:
    """A cut as `c2f info --json` and `c2f classify --json` report it (None: no cut)."""
    if cut is None:
        return None
    return {
        "level": cut.level,
        "complete_bytes": cut.offset,
        "arrived_bytes": cut.arrived,
        "declared_bytes": cut.declared,
        "missing_bytes": cut.missing,
        "message": cut.describe(levels_total),
    }


def stream_info(data: bytes, received=None) -> dict:
    """What `c2f info` shows: header fields and, per complete level, bytes and actual bpp; a
    stream cut inside a level segment shows its complete levels and the cut."""
    from coarse2fine.container import FORMAT_VERSION, parse_received  # torch-free: info reads a header

    received = received if received is not None else parse_received(data)
    stream = received.stream
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
        "cut": cut_fields(received.cut, h.num_levels_total),
    }


def default_model_identity(path: Path | None = None) -> str | None:
    """The model identity of the default model (or of checkpoint `path`), None where there is no
    default model. Its provenance records the identity beside the file's sha256: where the file is
    the one recorded, that is the answer without loading torch (`c2f info` stays instant);
    otherwise the model is loaded and hashed."""
    if path is None:
        try:
            path = default_model().path
        except FileNotFoundError:
            return None
    provenance = path.with_name("provenance.json")
    if provenance.is_file():
        import hashlib

        recorded = json.loads(provenance.read_text())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if recorded.get("model_id") and recorded.get("sha256") == digest:
            return recorded["model_id"]
    from coarse2fine.coding import load_codec
    from coarse2fine.coding.identity import model_identity

    return model_identity(load_codec(path)).hex()


def run_info(args) -> int:
    data = read_stream(args.stream)
    info = stream_info(data, received_stream(args, args.stream, data))
    try:
        default = default_model()
    except FileNotFoundError:
        default = None
    identity = default_model_identity(default.path) if default else None
    info["model"] = (
        f"the default model ({default.origin})"
        if identity == info["model_id"]
        else "not the default model"
        if identity
        else "unknown (no default model here)"
    )
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{_stdin_name(args.stream)}: c2f v{info['format_version']}, model {info['model_id']}: {info['model']}")
    print(
        f"image {info['width']}x{info['height']} (coded {info['padded'][1]}x{info['padded'][0]}), "
        f"levels {info['levels_present']} of {info['levels_total']}, {info['file_bytes']} bytes, "
        f"hyper-latent {info['hyper_bytes']} bytes"
    )
    print(f"{'level':>5} {'channels':>8} {'segment B':>10} {'total B':>9} {'bpp':>8}")
    for row in info["levels"]:
        print(f"{row['level']:>5} {row['channels']:>8} {row['segment_bytes']:>10} {row['bytes']:>9} {row['bpp']:>8.4f}")
    if info["cut"]:
        print(f"cut: {info['cut']['message']}")
    return 0


# -- truncate ---------------------------------------------------------------------------------
def truncate_arguments(p: argparse.ArgumentParser) -> None:
    from .common import positive_int

    p.add_argument("stream", type=Path, help="a .c2f file, or - for standard input")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--level", type=positive_int, metavar="N", help="keep levels 1..N")
    which.add_argument(
        "--bytes",
        type=positive_int,
        metavar="B",
        help="keep the most whole levels that fit in B bytes (header and hyper-latent included): what a "
        "sender with a byte budget sends",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(STDIO),
        help="the .c2f file to write (default: - , standard output). Without --level or --bytes: every "
        "complete level (a cut stream's incomplete segment dropped)",
    )
    strict_argument(p)


def run_truncate(args) -> int:
    from coarse2fine.container import levels_within

    check_target(args.output, args.stream, "stream")
    data = read_stream(args.stream)
    received = received_stream(args, args.stream, data)
    stream = received.stream
    if args.bytes is not None:
        levels = levels_within(stream, args.bytes)
    else:
        levels = args.level if args.level is not None else stream.num_levels
    prefix = data[: stream.segment_sizes()[levels - 1]]
    with stdout_carries_data(is_stdio(args.output)):
        write_output(args.output, prefix, source=None if is_stdio(args.stream) else args.stream)
    budget = f" (budget {args.bytes} bytes)" if args.bytes is not None else ""
    kept = "level 1" if levels == 1 else f"levels 1-{levels}"
    status(
        args,
        f"{_stdin_name(args.output, True)}: {kept} of {stream.header.num_levels_total}, {len(prefix)} bytes{budget}",
    )
    return 0
