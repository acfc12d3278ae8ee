"""`python -m coarse2fine.coding <command>`: the coding stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "encode-split": Command(
        "encode the evaluation split for one model",
        "coarse2fine.coding.commands:encode_add_arguments",
        "coarse2fine.coding.commands:encode_run_command",
    ),
    "check-split": Command(
        "decode every stream at every level in a fresh process",
        "coarse2fine.coding.commands:check_add_arguments",
        "coarse2fine.coding.commands:check_run_command",
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("coding", COMMANDS, description=__doc__))
