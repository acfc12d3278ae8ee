"""What the commands of `c2f` share: the default model, output files, common arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

from coarse2fine.files import write_atomic

# The shipped default codec (DVC-tracked): beside the package in a checkout of the repository.
DEFAULT_MODEL = Path(__file__).resolve().parents[3] / "models" / "default" / "c2f" / "model.pt"


def model_path(given: Path | None) -> Path:
    """--model, or the shipped default model (a FileNotFoundError saying how to get it)."""
    if given is not None:
        return given
    if not DEFAULT_MODEL.is_file():
        raise FileNotFoundError(
            f"no --model given and the default model {DEFAULT_MODEL} is not here: run "
            f"`make pull-models` in the repository (dvc pull, offline), or pass --model"
        )
    return DEFAULT_MODEL


def set_threads(args) -> None:
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)


def positive_int(text: str) -> int:
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


def read_stream(path: Path) -> bytes:
    from coarse2fine.errors import BitstreamError

    if not path.is_file():
        raise BitstreamError(f"{path}: no such file")
    return path.read_bytes()


def max_pixels_argument(p: argparse.ArgumentParser) -> None:
    from coarse2fine.limits import DEFAULT_MAX_PIXELS, FORMAT_MAX_PIXELS

    p.add_argument(
        "--max-pixels",
        type=positive_int,
        default=None,
        help=f"refuse pictures larger than this many pixels before any work (default {DEFAULT_MAX_PIXELS}, "
        f"4096 x 4096; at most {FORMAT_MAX_PIXELS})",
    )
