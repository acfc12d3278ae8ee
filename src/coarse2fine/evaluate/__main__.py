"""`python -m coarse2fine.evaluate <command>`: the evaluation stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "views": Command(
        "decode, measure and classify every evaluated image for one provider",
        "coarse2fine.evaluate.views.views_job:add_arguments",
        "coarse2fine.evaluate.views.views_job:run_command",
    ),
    "cpips": Command(
        "CPIPS of every view of one provider (cpips.csv beside views.csv)",
        "coarse2fine.evaluate.views.cpips_job:add_arguments",
        "coarse2fine.evaluate.views.cpips_job:run_command",
    ),
    "tables": Command(
        "per-image, summary and BD tables of one hierarchy",
        "coarse2fine.evaluate.tables.tables_job:add_arguments",
        "coarse2fine.evaluate.tables.tables_job:run_command",
    ),
    "claim": Command(
        "the paired test of a method against its ablation",
        "coarse2fine.evaluate.reports.claim:add_arguments",
        "coarse2fine.evaluate.reports.claim:run_command",
    ),
    "headline": Command(
        "the headline metrics and rate-accuracy points for DVC",
        "coarse2fine.evaluate.reports.headline:add_arguments",
        "coarse2fine.evaluate.reports.headline:run_command",
    ),
    "receiver": Command(
        "the confidence-driven receiver's table",
        "coarse2fine.evaluate.reports.receiver_table:add_arguments",
        "coarse2fine.evaluate.reports.receiver_table:run_command",
    ),
    "rd-curve": Command(
        "BD-rate against an anchor of a job's checkpoint snapshots, by the estimate (where training flattens)",
        "coarse2fine.evaluate.reports.rd_curve:add_arguments",
        "coarse2fine.evaluate.reports.rd_curve:run_command",
    ),
    "probe": Command(
        "a run's snapshots step by step: the coarse prefix's accuracy, predicted clusters, rate and PSNR",
        "coarse2fine.evaluate.reports.probe:probe_add_arguments",
        "coarse2fine.evaluate.reports.probe:probe_run_command",
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("evaluate", COMMANDS, description=__doc__))
