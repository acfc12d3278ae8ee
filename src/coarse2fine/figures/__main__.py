"""`python -m coarse2fine.figures <command>`: the figures."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "evaluation": Command(
        "evaluation figures (PNG + PDF) of one hierarchy",
        "coarse2fine.figures.evaluation:add_arguments",
        "coarse2fine.figures.evaluation:run_command",
    ),
    "receiver": Command(
        "the receiver's bytes-against-accuracy figure",
        "coarse2fine.figures.receiver_curve:add_arguments",
        "coarse2fine.figures.receiver_curve:run_command",
    ),
    "hierarchy": Command(
        "the overview figure of the built hierarchies (PNG, PDF)",
        "coarse2fine.figures.hierarchy:add_arguments",
        "coarse2fine.figures.hierarchy:run_command",
    ),
    "training": Command(
        "the training curves of the trained codecs",
        "coarse2fine.figures.training:add_arguments",
        "coarse2fine.figures.training:run_command",
    ),
    "overview": Command(
        "the report's opening page: the study, its claim, its figures",
        "coarse2fine.figures.overview:add_arguments",
        "coarse2fine.figures.overview:run_command",
    ),
    "probe": Command(
        "the probe's tables and figure: a run's coarse prefix step by step (evaluate probe's CSV)",
        "coarse2fine.figures.probe_report:add_arguments",
        "coarse2fine.figures.probe_report:run_command",
    ),
    "publish": Command(
        "copy a run's tables and figures into docs/figures/ with their header, or check them",
        "coarse2fine.figures.publish:add_arguments",
        "coarse2fine.figures.publish:run_command",
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("figures", COMMANDS, description=__doc__))
