"""`python -m coarse2fine.evaluate <command>`: the evaluation stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "views": Command(
        "coarse2fine.evaluate.views", "decode, measure and classify every evaluated image for one provider"
    ),
    "cpips": Command(
        "coarse2fine.evaluate.cpips_views", "CPIPS of every view of one provider (cpips.csv beside views.csv)"
    ),
    "tables": Command("coarse2fine.evaluate.table", "per-image, summary and BD tables of one hierarchy"),
    "claim": Command("coarse2fine.evaluate.claim", "the paired test of a method against its ablation"),
    "headline": Command("coarse2fine.evaluate.headline", "the headline metrics and rate-accuracy points for DVC"),
    "receiver": Command("coarse2fine.evaluate.receiver", "the confidence-driven receiver's table"),
}

if __name__ == "__main__":
    sys.exit(run_stage("evaluate", COMMANDS, description=__doc__))
