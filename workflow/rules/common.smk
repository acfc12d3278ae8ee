# Config loading and validation, shared helpers. Every stage's rules file includes nothing itself;
# the Snakefile includes this first.
import json
import sys
from pathlib import Path

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

# Every rule runs the package with the interpreter that runs Snakemake (the project's venv).
PY = sys.executable
DATASET = config["dataset"]["name"]
MANIFEST = f"data/{DATASET}/manifest.csv"


def as_json(value):
    """A settings param: a change to these settings reruns exactly the jobs that use them."""
    return json.dumps(value, sort_keys=True)


def all_targets():
    """What `rule all` builds: each stage contributes its final files, in data-journey order."""
    targets = []
    for stage in ("data", "hierarchy", "train", "bitstreams", "evaluate", "figures"):
        stage_targets = globals().get(f"{stage}_targets")
        if stage_targets is not None:
            targets += stage_targets()
    return targets
