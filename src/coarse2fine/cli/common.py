"""What the commands of `c2f` share: the default model, standard input and output, status
lines, output files, common arguments.

Only the standard library and Pillow are imported here and by argument parsing, so that a
missing file, an unreadable image or a stream with the wrong magic is answered before torch
loads (a second or more); the model is loaded on first use (`Lazy`).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from coarse2fine.errors import CheckpointError
from coarse2fine.files import write_atomic

# The default codec, looked for in this order (default_model): the file this variable names;
# the copy an installed package carries (setup.py copies it in when the checkout it is built
# from has it); the checkout's DVC-tracked models/default/c2f/model.pt (`make pull-models`).
MODEL_VARIABLE = "C2F_DEFAULT_MODEL"
_PACKAGE = Path(__file__).resolve().parents[1]
PACKAGED_MODEL = _PACKAGE / "resources" / "default_model" / "model.pt"
# only where the package runs from a checkout's src/ (an installed one has no models/ beside it)
CHECKOUT_MODEL = (
    _PACKAGE.parents[1] / "models" / "default" / "c2f" / "model.pt" if _PACKAGE.parent.name == "src" else None
)


@dataclass(frozen=True)
class DefaultModel:
    path: Path
    origin: str  # where it was found, as `c2f info` names it


def default_model() -> DefaultModel:
    """The default model (see MODEL_VARIABLE for the order), or a one-line FileNotFoundError
    naming where it looked and how to get one. Only the standard library: no torch."""
    explicit = os.environ.get(MODEL_VARIABLE)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"{MODEL_VARIABLE}={explicit} is not a file: point it at a codec checkpoint (model.pt), "
                f"unset it to use the shipped default model, or pass --model"
            )
        return DefaultModel(path, f"${MODEL_VARIABLE}")
    if PACKAGED_MODEL.is_file():
        return DefaultModel(PACKAGED_MODEL, "installed with the package")
    if CHECKOUT_MODEL is not None and CHECKOUT_MODEL.is_file():
        return DefaultModel(CHECKOUT_MODEL, "models/default/c2f")
    looked = [f"${MODEL_VARIABLE} (not set)", str(PACKAGED_MODEL)] + ([str(CHECKOUT_MODEL)] if CHECKOUT_MODEL else [])
    raise FileNotFoundError(
        f"no --model given and no default model found (looked at {', '.join(looked)}): run `make pull-models` "
        f"in a checkout of the repository (and reinstall it with `pip install .` to ship the model with the "
        f"package), set {MODEL_VARIABLE} to a codec checkpoint, or pass --model"
    )


STDIO = "-"  # as a file name: standard input, or standard output for an output


def is_stdio(path) -> bool:
    return path is not None and str(path) == STDIO


def model_path(given: Path | None) -> Path:
    """--model, or the default model (a FileNotFoundError saying how to get it). A missing
    checkpoint is named here, before torch is imported to read one."""
    if given is not None:
        if not Path(given).is_file():
            raise CheckpointError(f"checkpoint not found: {given}")
        return given
    return default_model().path


class Lazy:
    """A value built on first use (the codec: torch and the checkpoint load only once an input
    has passed its checks, and once for all the inputs of a call)."""

    def __init__(self, build):
        self._build, self._value, self._built = build, None, False

    def __call__(self):
        if not self._built:
            self._value, self._built = self._build(), True
        return self._value


def status(args, message: str) -> None:
    """A status line: on standard error (standard output may carry data), silenced by --quiet."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def warn(args, message: str) -> None:
    """A warning (a cut stream decoded at fewer levels): on standard error, even with --quiet."""
    print(f"c2f {args.command}: warning: {message}", file=sys.stderr, flush=True)


_data_stdout: list = []  # the binary standard output while a command writes data to it


@contextmanager
def stdout_carries_data(active: bool):
    """While a command writes its data (a stream, a picture) to standard output, anything else
    printed there (a library's message) goes to standard error instead, so the data stays
    intact. `write_output(STDIO, ...)` writes to the real standard output."""
    if not active:
        yield
        return
    _data_stdout.append(sys.stdout.buffer)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        _data_stdout.pop()


def read_input(path: Path, what: str = "stream") -> bytes:
    """The bytes of an input file, or of standard input for `-` (read to its end)."""
    if is_stdio(path):
        return sys.stdin.buffer.read()
    from coarse2fine.errors import BitstreamError

    path = Path(path)
    if path.is_dir():
        raise (BitstreamError if what == "stream" else ValueError)(f"{path}: is a directory, not a {what} file")
    if not path.is_file():
        raise (BitstreamError if what == "stream" else ValueError)(f"{path}: no such file")
    return path.read_bytes()


def set_threads(args) -> None:
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)


def device_argument(p: argparse.ArgumentParser) -> None:
    from coarse2fine.devices import DEVICE_HELP, device_spec

    # cpu by default: the device the project's numbers come from, and a picture that is a
    # function of the stream alone on a given build (docs/bitstream.md, "Devices")
    p.add_argument("--device", type=device_spec, default="cpu", help=f"{DEVICE_HELP} (default: %(default)s)")


def load_model(args, model: Path):
    """The codec of checkpoint `model` on --device, with --threads applied (torch loads here)."""
    from coarse2fine.coding import load_codec
    from coarse2fine.devices import codec_on, resolve_device

    set_threads(args)
    device = resolve_device(getattr(args, "device", "cpu"))
    return codec_on(load_codec(model), device)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def write_output(path: Path, data: bytes, source: Path | None = None) -> None:
    """Write `data` to `path` through a temporary file renamed into place: a killed run leaves
    the old file or the new one, never a partial file (a .c2f cut at a segment boundary would
    decode silently at fewer levels). Refuses to overwrite the input it was made from. `-`
    writes to standard output (never to a terminal: binary data there is of no use)."""
    check_target(path, source)
    if is_stdio(path):
        out = _data_stdout[-1] if _data_stdout else sys.stdout.buffer
        out.write(data)
        out.flush()
        return
    write_atomic(Path(path), data)


def check_target(path, source=None, what: str = "output") -> None:
    """ValueError naming what is wrong with an output, before any work is done: a folder, the
    input itself, a parent that is a file, or binary data for a terminal."""
    if is_stdio(path):
        # the real standard output: while data is written there, sys.stdout is standard error
        stdout = _data_stdout[-1] if _data_stdout else sys.stdout
        if stdout.isatty():
            raise ValueError(
                f"standard output is a terminal: not writing a binary {what} there; redirect it or give -o FILE"
            )
        return
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; give a file name for the output")
    if source is not None and not is_stdio(source) and path.exists() and path.resolve() == Path(source).resolve():
        raise ValueError(f"{path}: the output would overwrite the input; give another output name")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"{parent}: is not a directory, so {path} cannot be written")


def read_stream(path: Path) -> bytes:
    return read_input(path, "stream")


def strict_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse a stream that ends inside a segment (exit 1) instead of using its complete levels",
    )


def max_pixels_argument(p: argparse.ArgumentParser) -> None:
    from coarse2fine.limits import DEFAULT_MAX_PIXELS, FORMAT_MAX_PIXELS

    p.add_argument(
        "--max-pixels",
        type=positive_int,
        default=None,
        help=f"refuse pictures larger than this many pixels before any work (default {DEFAULT_MAX_PIXELS}, "
        f"4096 x 4096; at most {FORMAT_MAX_PIXELS})",
    )
