"""`python -m coarse2fine.data <command>`: the data stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "build": Command(
        "build a dataset manifest (path, sha256, size, label, split)",
        "coarse2fine.data.build:add_arguments",
        "coarse2fine.data.build:run_command",
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("data", COMMANDS, description=__doc__))
