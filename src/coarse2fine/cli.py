"""`c2f`: encode, decode, inspect and classify `.c2f` progressive bitstreams.

    c2f encode IMAGE -o FILE.c2f --model CKPT [--view native|model|SIZE]
    c2f decode FILE.c2f -o OUT.png --model CKPT [--level N]
    c2f info FILE.c2f [--json]
    c2f classify FILE.c2f --model CKPT --hierarchy assignments.csv [--level N]

A stream records the identity of its model (a hash), not a path; a stream written by another
model fails with a clear message. Without --model, encode, decode and classify use the default
model that ships with the repository (models/default/c2f: c2f at the middle rate point,
trained from the shipped base; fetched by `make pull-models`), and info says when a stream was made by it.
Subcommands live in the COMMANDS table: adding one is one entry there.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from coarse2fine.files import png_bytes, write_atomic

# The shipped default codec (DVC-tracked): beside the package in a checkout of the repository.
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "default" / "c2f" / "model.pt"


def model_path(given: Path | None) -> Path:
    """--model, or the shipped default model (a FileNotFoundError saying how to get it)."""
    if given is not None:
        return given
    if not DEFAULT_MODEL.is_file():
        raise FileNotFoundError(f"no --model given and the default model {DEFAULT_MODEL} is not here: run "
                                f"`make pull-models` in the repository (dvc pull, offline), or pass --model")
    return DEFAULT_MODEL


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _set_threads(args) -> None:
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def write_output(path: Path, data: bytes, source: Path | None = None) -> None:
    """Write `data` to `path` through a temporary file renamed into place: a killed run leaves
    the old file or the new one, never a partial file (a .c2f cut at a segment boundary would
    decode silently at fewer levels). Refuses to overwrite the input it was made from."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; give a file name for the output")
    if source is not None and path.exists() and path.resolve() == Path(source).resolve():
        raise ValueError(f"{path}: the output would overwrite the input; give another output name")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"{parent}: is not a directory, so {path} cannot be written")
    write_atomic(path, data)


def _read_stream(path: Path) -> bytes:
    from coarse2fine.coding import BitstreamError

    if not path.is_file():
        raise BitstreamError(f"{path}: no such file")
    return path.read_bytes()


def _max_pixels_argument(p: argparse.ArgumentParser) -> None:
    from coarse2fine.limits import DEFAULT_MAX_PIXELS, FORMAT_MAX_PIXELS

    p.add_argument("--max-pixels", type=_positive_int, default=None,
                   help=f"refuse pictures larger than this many pixels before any work (default {DEFAULT_MAX_PIXELS}, "
                        f"4096 x 4096; at most {FORMAT_MAX_PIXELS})")


# -- encode -----------------------------------------------------------------------------------
def _encode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", type=Path, help="input image (any size; grayscale, RGBA, 16-bit converted to 8-bit RGB)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .c2f file to write")
    p.add_argument("--model", type=Path, help="codec checkpoint (model.pt; default: the shipped default model)")
    p.add_argument("--view", default="native",
                   help="what to code: native (the image as it is, default), model (squashed to the square view "
                        "the model was trained at, as the study codes photos), or a size N (N x N)")
    _max_pixels_argument(p)


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


def _encode(args) -> int:
    from coarse2fine.coding import encode_image, load_codec, parse_bitstream
    from coarse2fine.imaging.photos import image_to_tensor
    from coarse2fine.imaging.view import open_view

    _set_threads(args)
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
def _decode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", type=Path, help="a .c2f file (a prefix cut at a level boundary is fine)")
    p.add_argument("-o", "--output", type=Path, required=True, help="PNG to write (8-bit RGB)")
    p.add_argument("--model", type=Path, help="the codec checkpoint the stream was written with (default: the shipped default model)")
    p.add_argument("--level", type=int, default=None, help="decode the first N levels (default: all present)")
    _max_pixels_argument(p)


def _decode(args) -> int:
    from PIL import Image

    from coarse2fine.coding import decode_bitstream, load_codec, to_uint8

    _set_threads(args)
    data = _read_stream(args.stream)
    decoded = decode_bitstream(load_codec(model_path(args.model)), data, args.level, args.max_pixels)
    write_output(args.output, png_bytes(Image.fromarray(to_uint8(decoded.image).numpy(), mode="RGB")), source=args.stream)
    print(f"{args.output}: level {decoded.level} of {decoded.header.num_levels_total}, {decoded.header.width}x{decoded.header.height}")
    return 0


# -- info -------------------------------------------------------------------------------------
def _info_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", type=Path, help="a .c2f file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def stream_info(data: bytes) -> dict:
    """What `c2f info` shows: header fields and, per level present, bytes and actual bpp."""
    from coarse2fine.coding import FORMAT_VERSION, parse_bitstream

    stream = parse_bitstream(data)
    h = stream.header
    cumulative = stream.segment_sizes()
    return {
        "format_version": FORMAT_VERSION, "model_id": h.model_id.hex(), "width": h.width, "height": h.height,
        "padded": list(h.padded_size), "pad_multiple": h.pad_multiple, "levels_present": stream.num_levels,
        "levels_total": h.num_levels_total, "file_bytes": len(data), "hyper_bytes": len(stream.hyper),
        "levels": [
            {"level": k, "channels": h.level_channels[k - 1], "segment_bytes": len(p), "bytes": size,
             "bpp": size * 8 / h.pixels}
            for k, (p, size) in enumerate(zip(stream.levels, cumulative), 1)
        ],
    }


def default_model_identity() -> str | None:
    """The model identity of the shipped default model, None where it is not here."""
    if not DEFAULT_MODEL.is_file():
        return None
    from coarse2fine.coding import load_codec
    from coarse2fine.coding.identity import model_identity

    return model_identity(load_codec(DEFAULT_MODEL)).hex()


def _info(args) -> int:
    info = stream_info(_read_stream(args.stream))
    default = default_model_identity()
    info["model"] = (f"the default model ({DEFAULT_MODEL.parent.relative_to(DEFAULT_MODEL.parents[3])})"
                     if default == info["model_id"] else "not the default model" if default else "unknown (no default model here)")
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{args.stream}: c2f v{info['format_version']}, model {info['model_id']}: {info['model']}")
    print(f"image {info['width']}x{info['height']} (coded {info['padded'][1]}x{info['padded'][0]}), "
          f"levels {info['levels_present']} of {info['levels_total']}, {info['file_bytes']} bytes, hyper-latent {info['hyper_bytes']} bytes")
    print(f"{'level':>5} {'channels':>8} {'segment B':>10} {'total B':>9} {'bpp':>8}")
    for row in info["levels"]:
        print(f"{row['level']:>5} {row['channels']:>8} {row['segment_bytes']:>10} {row['bytes']:>9} {row['bpp']:>8.4f}")
    return 0


# -- classify ---------------------------------------------------------------------------------
def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}")
    return value


def _classify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("stream", type=Path, help="a .c2f file, or - for standard input (read as it arrives)")
    p.add_argument("--model", type=Path, help="the codec checkpoint the stream was written with (default: the shipped default model)")
    p.add_argument("--hierarchy", type=Path, required=True, help="assignments.csv of the hierarchy")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--level", type=int, default=None, help="decode the first N levels (default: all present)")
    which.add_argument("--until-confident", type=_probability, metavar="P",
                       help="read one level at a time and stop as soon as the answer at the level reached has "
                            "prob-sum confidence >= P; reports the level, the answer and the bytes read")
    from coarse2fine.classify.classifiers import CLASSIFIERS

    p.add_argument("--classifier", default="efficientnet_lite0", choices=sorted(CLASSIFIERS),
                   help="reference classifier (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    _max_pixels_argument(p)


def _answer_text(a: dict) -> str:
    what = "class" if a["k"] == 1000 else f"cluster (K={a['k']})"
    return f"{what} {a['id']}: {a['name']} (p={a['probability']:.3f})"


def _classify(args) -> int:
    from coarse2fine.coding import load_codec
    from coarse2fine.hierarchy.assignments import load_hierarchy
    from coarse2fine.receiver import classify_stream, receive_until_confident

    _set_threads(args)
    codec, hierarchy = load_codec(model_path(args.model)), load_hierarchy(args.hierarchy)
    if args.until_confident is not None:
        if str(args.stream) == "-":
            result = receive_until_confident(sys.stdin.buffer, codec, hierarchy, args.classifier, args.until_confident,
                                             args.max_pixels)
        else:
            if not args.stream.is_file():
                raise ValueError(f"{args.stream}: no such file")
            with open(args.stream, "rb") as source:
                result = receive_until_confident(source, codec, hierarchy, args.classifier, args.until_confident,
                                                 args.max_pixels)
        if args.json:
            print(json.dumps(result, indent=2))
            return 0
        reason = "confident" if result["confident"] else "end of stream, not confident"
        print(f"stopped at level {result['stopped_at_level']} of {result['levels_total']} ({reason}), "
              f"{result['bytes_read']} bytes read: {_answer_text(result['answer'])}")
        return 0
    data = sys.stdin.buffer.read() if str(args.stream) == "-" else _read_stream(args.stream)
    result = classify_stream(data, codec, hierarchy, args.classifier, args.level, args.max_pixels)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"level {result['decoded_level']} of {result['levels_total']}: {_answer_text(result['answer'])}")
    for row in result["levels"]:
        print(f"  K={row['k']:>4}: {row['id']:>4} {row['name']} (p={row['probability']:.3f})")
    return 0


# -- eval -------------------------------------------------------------------------------------
def _eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, help="a folder of images (any sizes; searched recursively)")
    p.add_argument("--model", type=Path, help="codec checkpoint (default: the shipped default model)")
    p.add_argument("--view", default="native", help="what to code: native (default), model, or a size N (as encode)")
    from coarse2fine.classify.classifiers import CLASSIFIERS

    p.add_argument("--classifier", default="efficientnet_lite0", choices=[*sorted(CLASSIFIERS), "none"],
                   help="reference classifier for top-1 agreement (default: %(default)s; none: skip)")
    p.add_argument("--json", action="store_true", help="print JSON (per level and per image) instead of a table")
    _max_pixels_argument(p)


def _eval(args) -> int:
    from coarse2fine.coding import load_codec
    from coarse2fine.evaluate.folder import evaluate_folder, summary_table

    _set_threads(args)
    if not args.folder.is_dir():
        raise ValueError(f"{args.folder}: not a folder")
    codec = load_codec(model_path(args.model))
    classifier = None if args.classifier == "none" else args.classifier
    result = evaluate_folder(args.folder, codec, classifier, encode_view(args.view, codec), args.max_pixels)
    print(json.dumps(result, indent=2) if args.json else summary_table(result))
    return 0


COMMANDS: dict[str, Command] = {
    "encode": Command("encode an image into a progressive .c2f stream", _encode_arguments, _encode),
    "decode": Command("decode a .c2f stream (all levels present, or --level N) to PNG", _decode_arguments, _decode),
    "info": Command("show a stream's header, levels, bytes and bpp per level", _info_arguments, _info),
    "classify": Command("decode at a level and show what a reference classifier sees", _classify_arguments, _classify),
    "eval": Command("code every image of a folder at every level: bpp, PSNR, MS-SSIM, times, top-1 agreement",
                    _eval_arguments, _eval),
}

# One line per command, shown under its --help: what a user types first.
EXAMPLES = {
    "encode": ["c2f encode photo.jpg -o photo.c2f", "c2f encode photo.jpg -o photo.c2f --view model",
               "c2f encode photo.jpg -o photo.c2f --model results/checkpoints/c2f/paper_clip_kmeans/rp0/model.pt"],
    "decode": ["c2f decode photo.c2f -o photo.png", "c2f decode photo.c2f -o coarse.png --level 1"],
    "info": ["c2f info photo.c2f", "c2f info photo.c2f --json"],
    "classify": ["c2f classify photo.c2f --hierarchy results/hierarchy/paper_clip_kmeans/assignments.csv --level 1",
                 "cat photo.c2f | c2f classify - --hierarchy results/hierarchy/paper_clip_kmeans/assignments.csv "
                 "--until-confident 0.9"],
    "eval": ["c2f eval photos/", "c2f eval photos/ --view 256 --json > eval.json"],
}


def build_parser() -> argparse.ArgumentParser:
    from coarse2fine import __version__

    parser = argparse.ArgumentParser(prog="c2f", description="Semantic coarse-to-fine progressive image coding.",
                                     epilog="examples:\n" + "\n".join(f"  {e[0]}" for e in EXAMPLES.values()),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"c2f (coarse2fine) {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help,
                           epilog="examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[name]),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(p)
        p.add_argument("--threads", type=_positive_int, default=None, help="torch threads (default: torch's own)")
        p.set_defaults(run=command.run)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    # BitstreamError, ImageReadError, AssignmentsError and bad-argument errors are ValueErrors.
    from coarse2fine.classify import ClassifierUnavailable
    from coarse2fine.coding import CheckpointError

    # OSError: a full disk, a name too long, no permission: the message names the path.
    # ResourceLimitError (a ValueError) names the pixel limit; MemoryError is handled in main.
    return (ValueError, CheckpointError, ClassifierUnavailable, OSError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except _user_errors() as exc:
        print(f"c2f {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"c2f {args.command}: error: out of memory; try a smaller --max-pixels or free memory", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
