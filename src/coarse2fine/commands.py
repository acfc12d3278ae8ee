"""One shape for every pipeline command, and one logging set-up.

    python -m coarse2fine.<stage> <command> [options]

Stages: data, hierarchy, training, coding, evaluate, figures (the rule files of workflow/rules
carry the same names). A stage's `__main__` lists its commands; only the module of the command
being run is imported, so a job pays for its own imports only (BENCHMARKS.md, "Start-up cost of
a pipeline job"). A command module defines `add_arguments(parser)` and `run_command(args)`
(returning an exit status or None for 0); a module that hosts several commands prefixes both
names with the command's (`wup_add_arguments`, `wup_run_command`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from dataclasses import dataclass

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: int = logging.INFO) -> None:
    """The one logging set-up of every command and of the `c2f` tool."""
    logging.basicConfig(level=level, format=LOG_FORMAT)


@dataclass(frozen=True)
class Command:
    module: str
    help: str
    prefix: str = ""  # for a module that hosts several commands

    def function(self, name: str):
        return getattr(importlib.import_module(self.module), f"{self.prefix}{name}")


def run_stage(
    stage: str, commands: dict[str, Command], argv: list[str] | None = None, description: str | None = None
) -> int:
    """Parse `argv` as `<command> [options]` for one of `commands` and run it."""
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
    command.function("add_arguments")(parser)
    args = parser.parse_args(argv[1:])
    setup_logging()
    return int(command.function("run_command")(args) or 0)
