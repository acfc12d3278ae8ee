"""`python -m coarse2fine.figures <command>`: the figures."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "evaluation": Command("coarse2fine.figures.evaluation", "evaluation figures (PNG + PDF) of one hierarchy"),
    "receiver": Command("coarse2fine.figures.receiver", "the receiver's bytes-against-accuracy figure"),
    "hierarchy": Command("coarse2fine.figures.hierarchy", "the overview figure of the built hierarchies (PNG, PDF)"),
    "training": Command("coarse2fine.figures.training", "the training curves of the trained codecs"),
    "overview": Command("coarse2fine.figures.overview", "the report's opening page: the study, its claim, its figures"),
}

if __name__ == "__main__":
    sys.exit(run_stage("figures", COMMANDS, description=__doc__))
