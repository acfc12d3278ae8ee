"""`python -m coarse2fine.evaluate <command>`: the evaluation stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "views": Command(
        "decode, measure and classify every evaluated image for one provider",
        "coarse2fine.evaluate.views:add_arguments",
        "coarse2fine.evaluate.views:run_command",
    ),
    "cpips": Command(
        "CPIPS of every view of one provider (cpips.csv beside views.csv)",
        "coarse2fine.evaluate.cpips_views:add_arguments",
        "coarse2fine.evaluate.cpips_views:run_command",
    ),
    "tables": Command(
        "per-image, summary and BD tables of one hierarchy",
        "coarse2fine.evaluate.table:add_arguments",
        "coarse2fine.evaluate.table:run_command",
    ),
    "claim": Command(
        "the paired test of a method against its ablation",
        "coarse2fine.evaluate.claim:add_arguments",
        "coarse2fine.evaluate.claim:run_command",
    ),
    "headline": Command(
        "the headline metrics and rate-accuracy points for DVC",
        "coarse2fine.evaluate.headline:add_arguments",
        "coarse2fine.evaluate.headline:run_command",
    ),
    "receiver": Command(
        "the confidence-driven receiver's table",
        "coarse2fine.evaluate.receiver:add_arguments",
        "coarse2fine.evaluate.receiver:run_command",
    ),
    "rd-curve": Command(
        "BD-rate against an anchor of a job's checkpoint snapshots, by the estimate (where training flattens)",
        "coarse2fine.evaluate.rd_curve:add_arguments",
        "coarse2fine.evaluate.rd_curve:run_command",
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("evaluate", COMMANDS, description=__doc__))
