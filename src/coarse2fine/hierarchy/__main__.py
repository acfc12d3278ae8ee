"""`python -m coarse2fine.hierarchy <command>`: the hierarchy stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "classes": Command(
        "write the ImageNet-1K class list as CSV",
        "coarse2fine.hierarchy.classes:add_arguments",
        "coarse2fine.hierarchy.classes:run_command",
    ),
    "wup": Command(
        "Wu-Palmer similarity matrix of the 1000 classes (.npy)",
        "coarse2fine.hierarchy.commands:wup_add_arguments",
        "coarse2fine.hierarchy.commands:wup_run_command",
    ),
    "embed": Command(
        "embed the class prompts of one embedder (.npz cache)",
        "coarse2fine.hierarchy.commands:embed_add_arguments",
        "coarse2fine.hierarchy.commands:embed_run_command",
    ),
    "build": Command(
        "build one hierarchy of config/hierarchy.yaml",
        "coarse2fine.hierarchy.commands:build_add_arguments",
        "coarse2fine.hierarchy.commands:build_run_command",
    ),
    "agreement": Command(
        "ARI table across the built hierarchies",
        "coarse2fine.hierarchy.commands:agreement_add_arguments",
        "coarse2fine.hierarchy.commands:agreement_run_command",
    ),
    "wordnet": Command(
        "provision WordNet for nltk offline (--install), or report it",
        "coarse2fine.hierarchy.wordnet:add_arguments",
        "coarse2fine.hierarchy.wordnet:run_command",
    ),
}

if __name__ == "__main__":
    sys.exit(run_stage("hierarchy", COMMANDS, description=__doc__))
