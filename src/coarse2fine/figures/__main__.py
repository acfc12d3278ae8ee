"""`python -m coarse2fine.figures <command>`: the figures."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "evaluation": Command("coarse2fine.figures.evaluation", "evaluation figures (PNG + PDF) of one hierarchy"),
    "receiver": Command("coarse2fine.figures.receiver", "the receiver's bytes-against-accuracy figure"),
}

if __name__ == "__main__":
    sys.exit(run_stage("figures", COMMANDS, description=__doc__))
