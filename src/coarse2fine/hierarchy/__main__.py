"""`python -m coarse2fine.hierarchy <command>`: the hierarchy stage's commands."""

import sys

from coarse2fine.commands import Command, run_stage

COMMANDS = {
    "classes": Command("coarse2fine.hierarchy.classes", "write the ImageNet-1K class list as CSV"),
    "wup": Command("coarse2fine.hierarchy.commands", "Wu-Palmer similarity matrix of the 1000 classes (.npy)", "wup_"),
    "embed": Command(
        "coarse2fine.hierarchy.commands", "embed the class prompts of one embedder (.npz cache)", "embed_"
    ),
    "build": Command("coarse2fine.hierarchy.commands", "build one hierarchy of config/hierarchy.yaml", "build_"),
    "agreement": Command("coarse2fine.hierarchy.commands", "ARI table across the built hierarchies", "agreement_"),
    "wordnet": Command("coarse2fine.hierarchy.wordnet", "provision WordNet for nltk offline (--install), or report it"),
}

if __name__ == "__main__":
    sys.exit(run_stage("hierarchy", COMMANDS, description=__doc__))
