"""`c2f`: encode, decode, inspect, cut and classify `.c2f` progressive bitstreams.

    c2f encode IMAGE... [-o FILE.c2f | --output-dir DIR] --model CKPT [--view native|model|SIZE]
    c2f decode FILE.c2f... [-o OUT.png | --output-dir DIR] --model CKPT [--level N]
    c2f info FILE.c2f [--json]
    c2f truncate FILE.c2f (--level N | --bytes B) [-o OUT.c2f]
    c2f classify FILE.c2f --model CKPT --hierarchy assignments.csv [--level N]
    c2f eval FOLDER [--json]

`-` names standard input or output wherever a stream or a picture is read or written; status
lines and progress go to standard error (--quiet silences them). Commands that run the codec
take --device auto|cpu|cuda[:N] (default cpu). The manual: docs/cli.md.

A stream records the identity of its model (a hash), not a path; a stream written by another
model fails with a clear message. Without --model, encode, decode and classify use the default
model that ships with the repository (models/default/c2f: c2f at the middle rate point,
trained from the shipped base; fetched by `make pull-models`, and carried by a package
`pip install .` builds from such a checkout; $C2F_DEFAULT_MODEL names another), and info says
when a stream was made by it.
Subcommands live in the COMMANDS table (coarse2fine.commands.Command, the pipeline's shape too):
adding one is one entry there.
"""

from __future__ import annotations

import argparse
import sys

from coarse2fine.commands import Command

from .common import default_model, positive_int

COMMANDS: dict[str, Command] = {
    "encode": Command(
        "encode an image into a progressive .c2f stream",
        "coarse2fine.cli.streams:encode_arguments",
        "coarse2fine.cli.streams:run_encode",
    ),
    "decode": Command(
        "decode a .c2f stream (all levels present, or --level N) to PNG",
        "coarse2fine.cli.streams:decode_arguments",
        "coarse2fine.cli.streams:run_decode",
    ),
    "info": Command(
        "show a stream's header, levels, bytes and bpp per level",
        "coarse2fine.cli.streams:info_arguments",
        "coarse2fine.cli.streams:run_info",
    ),
    "truncate": Command(
        "cut a stream to its first N levels, or to the levels that fit in a byte budget",
        "coarse2fine.cli.streams:truncate_arguments",
        "coarse2fine.cli.streams:run_truncate",
    ),
    "classify": Command(
        "decode at a level and show what a reference classifier sees",
        "coarse2fine.cli.classify:classify_arguments",
        "coarse2fine.cli.classify:run_classify",
    ),
    "eval": Command(
        "code every image of a folder at every level: bpp, PSNR, MS-SSIM, times, top-1 agreement",
        "coarse2fine.cli.evaluate:eval_arguments",
        "coarse2fine.cli.evaluate:run_eval",
    ),
}

# One line per command, shown under its --help: what a user types first.
EXAMPLES = {
    "encode": [
        "c2f encode photo.jpg -o photo.c2f",
        "c2f encode photos/ --output-dir streams/",
        "c2f encode photo.jpg -o photo.c2f --view model",
        "c2f encode photo.jpg -o photo.c2f --model results/checkpoints/c2f/paper_clip_kmeans/rp0/model.pt",
    ],
    "decode": [
        "c2f decode photo.c2f -o photo.png",
        "c2f decode photo.c2f -o coarse.png --level 1",
        "c2f decode photo.c2f -o photo.webp",
        "c2f decode photo.c2f -o photo.jpg --quality 95",
        "c2f decode streams/*.c2f --output-dir decoded/",
        "c2f encode photo.jpg -o - | c2f decode - -o photo.png",
    ],
    "info": ["c2f info photo.c2f", "c2f info photo.c2f --json", "head -c 2000 photo.c2f | c2f info -"],
    "truncate": [
        "c2f truncate photo.c2f --level 1 -o coarse.c2f",
        "c2f truncate photo.c2f --bytes 4096 -o budget.c2f",
        "c2f truncate photo.c2f --bytes 4096 | c2f decode - -o photo.png",
        "c2f truncate cut.c2f -o whole-levels.c2f",
    ],
    "classify": [
        "c2f classify photo.c2f --hierarchy results/hierarchy/paper_clip_kmeans/assignments.csv --level 1",
        "cat photo.c2f | c2f classify - --hierarchy results/hierarchy/paper_clip_kmeans/assignments.csv "
        "--until-confident 0.9",
    ],
    "eval": [
        "c2f eval photos/",
        "c2f eval photos/ --view 256 --json > eval.json",
        "c2f eval photos/ --json --name c2f --device cuda > c2f.json && python -m compressai.utils.plot -f c2f.json",
    ],
}


def build_parser() -> argparse.ArgumentParser:
    from coarse2fine import __version__

    parser = argparse.ArgumentParser(
        prog="c2f",
        description="Semantic coarse-to-fine progressive image coding.",
        epilog="examples:\n" + "\n".join(f"  {e[0]}" for e in EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"c2f (coarse2fine) {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=command.help,
            description=command.help,
            epilog="examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[name]),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.arguments_function()(p)
        p.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's own)")
        p.add_argument(
            "-q", "--quiet", action="store_true", help="no status lines or progress (warnings and errors still print)"
        )
        p.set_defaults(run=command.run_function)
    return parser


def user_errors() -> tuple[type[BaseException], ...]:
    # BitstreamError, ImageReadError, AssignmentsError and bad-argument errors are ValueErrors.
    # Nothing that imports torch: an input error is answered before torch loads.
    from coarse2fine.errors import CheckpointError

    # OSError: a full disk, a name too long, no permission: the message names the path.
    # ResourceLimitError (a ValueError) names the pixel limit; MemoryError is handled in main.
    errors: tuple[type[BaseException], ...] = (ValueError, CheckpointError, OSError)
    classifiers = sys.modules.get("coarse2fine.classify.classifiers")  # only raised once it is loaded
    if classifiers is not None:
        errors += (classifiers.ClassifierUnavailable,)
    return errors


def main(argv: list[str] | None = None) -> int:
    # an entry point whose start-up a user waits for on every call (lean_imports.py)
    from coarse2fine.lean_imports import defer_unused_compressai_imports

    defer_unused_compressai_imports()
    args = build_parser().parse_args(argv)
    try:
        return args.run()(args)
    except BrokenPipeError:
        # the reader of our standard output went away (`c2f decode x.c2f -o - | head -c 10`):
        # nothing more can be written there; stop quietly, as Unix tools do
        _silence_stdout()
        return 1
    except user_errors() as exc:
        print(f"c2f {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"c2f {args.command}: error: out of memory; try a smaller --max-pixels or free memory", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


__all__ = ["COMMANDS", "build_parser", "default_model", "main"]
