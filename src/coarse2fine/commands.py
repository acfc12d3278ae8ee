"""One shape for every command, the pipeline's and the `c2f` tool's, and one logging set-up.

    python -m coarse2fine.<stage> <command> [options]
    c2f <command> [options]

Stages: data, hierarchy, training, coding, evaluate, figures (the rule files of workflow/rules
carry the same names). A stage's `__main__` lists its commands, the `c2f` tool's in cli/: each a
`Command` that names its two functions in full, as Python's entry points do
("package.module:function"): one that adds the command's arguments to a parser and one that runs
it (returning an exit status or None for 0). Only the module of the command being run is
imported, so a job pays for its own imports only (BENCHMARKS.md, "Start-up cost of a pipeline
job").
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from dataclasses import dataclass

from .lean_imports import defer_unused_compressai_imports

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: int = logging.INFO) -> None:
    """The one logging set-up of every command and of the `c2f` tool."""
    logging.basicConfig(level=level, format=LOG_FORMAT)


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: str  # "package.module:function(parser)"
    run: str  # "package.module:function(args) -> int | None"

    def arguments_function(self):
        return _resolve(self.add_arguments)

    def run_function(self):
        return _resolve(self.run)


def _resolve(target: str):
    """The function an entry-point string names, its module imported now."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def run_stage(
    stage: str, commands: dict[str, Command], argv: list[str] | None = None, description: str | None = None
) -> int:
    """Parse `argv` as `<command> [options]` for one of `commands` and run it."""
    # an entry point: its start-up is paid by every pipeline job (lean_imports.py)
    defer_unused_compressai_imports()
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = f"python -m coarse2fine.{stage}"
    if not argv or argv[0] not in commands:
        parser = argparse.ArgumentParser(prog=prog, description=description)
        sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        for name, command in commands.items():
            sub.add_parser(name, help=command.help)
        parser.parse_args(argv)  # prints the help, or names what is wrong, and exits
        return 2
    command = commands[argv[0]]
    parser = argparse.ArgumentParser(prog=f"{prog} {argv[0]}", description=command.help)
    command.arguments_function()(parser)
    args = parser.parse_args(argv[1:])
    setup_logging()
    return int(command.run_function()(args) or 0)
