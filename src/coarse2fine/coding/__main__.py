"""`python -m coarse2fine.coding <command>`: the coding stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "encode-split": Command("coarse2fine.coding.commands", "encode the evaluation split for one model", "encode_"),
    "check-split": Command(
        "coarse2fine.coding.commands", "decode every stream at every level in a fresh process", "check_"
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("coding", COMMANDS, description=__doc__))
