"""`python -m coarse2fine.training <command>`: the training stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "train": Command("coarse2fine.training.commands", "run, or resume, one training job", "train_"),
    "install-base": Command(
        "coarse2fine.training.base", "check a base checkpoint against the config and copy it into place", "install_"
    ),
    "verify-base": Command(
        "coarse2fine.training.base", "check a checkpoint against the sha256 its provenance records", "verify_"
    ),
    "base-provenance": Command(
        "coarse2fine.training.base", "write a base checkpoint's provenance as JSON", "provenance_"
    ),
    "quick-eval": Command(
        "coarse2fine.training.quick_eval", "accuracy per level of checkpoints on a split, without coding"
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("training", COMMANDS, description=__doc__))
