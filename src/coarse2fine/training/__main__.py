"""`python -m coarse2fine.training <command>`: the training stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "train": Command(
        "run, or resume, one training job",
        "coarse2fine.training.commands:train_add_arguments",
        "coarse2fine.training.commands:train_run_command",
    ),
    "install-base": Command(
        "check a base checkpoint against the config and copy it into place",
        "coarse2fine.training.base:install_add_arguments",
        "coarse2fine.training.base:install_run_command",
    ),
    "verify-base": Command(
        "check a checkpoint against the sha256 its provenance records",
        "coarse2fine.training.base:verify_add_arguments",
        "coarse2fine.training.base:verify_run_command",
    ),
    "base-provenance": Command(
        "write a base checkpoint's provenance as JSON",
        "coarse2fine.training.base:provenance_add_arguments",
        "coarse2fine.training.base:provenance_run_command",
    ),
    "quick-eval": Command(
        "accuracy per level of checkpoints on a split, without coding",
        "coarse2fine.training.quick_eval:add_arguments",
        "coarse2fine.training.quick_eval:run_command",
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("training", COMMANDS, description=__doc__))
