# Config loading and validation, shared helpers. Every stage's rules file includes nothing itself;
# the Snakefile includes this first.
import json
import sys
from pathlib import Path

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

# Every rule runs the package with the interpreter that runs Snakemake (the project's venv),
# named the same however Snakemake was started (the `snakemake` script runs `python3`,
# `python -m snakemake` runs `python`): the name is part of every job's command, and a changed
# command would rerun every job.
_ENV_PYTHON = Path(sys.prefix, "bin", "python")
PY = str(_ENV_PYTHON) if _ENV_PYTHON.exists() else sys.executable
DATASET = config["dataset"]["name"]
MANIFEST = f"data/{DATASET}/manifest.csv"


def as_json(value):
    """A settings param: a change to these settings reruns exactly the jobs that use them."""
    return json.dumps(value, sort_keys=True)


# The stages of the data's journey, in order; each rules file defines `<stage>_targets()`.
STAGES = ("data", "hierarchy", "train", "bitstreams", "evaluate", "figures")


def stage_targets(stage):
    return globals()[f"{stage}_targets"]()


def all_targets():
    """What `rule all` builds: every stage's final files."""
    return [target for stage in STAGES for target in stage_targets(stage)]
