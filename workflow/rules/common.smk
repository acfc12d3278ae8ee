# Config loading and validation, shared helpers. Every stage's rules file includes nothing itself;
# the Snakefile includes this first.
import json
import os
import re
import sys
from pathlib import Path

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")
# Every codec's `architecture` against its codec's own schema (the keyword arguments of
# build_codec), so a misspelt key fails now, not when its training job runs.
from coarse2fine.architectures import validate_architecture

for _section in ("codecs", "baselines"):
    for _name, _spec in config.get(_section, {}).items():
        validate_architecture(_spec["architecture"], f"config {_section}.{_name}.architecture")

# Every rule runs `python -m coarse2fine...`. Jobs find the environment that runs Snakemake (the
# project's venv, or the conda environment of environment.yml) first on their PATH, however
# Snakemake was started; with --software-deployment-method conda, the workflow's environment
# (the Snakefile's `conda:`) is activated in each job instead. The command names no path, so
# it is the same on every machine and a moved checkout reruns nothing.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.prefix, "bin")), os.environ.get("PATH", "")])
# Every rule's software under --software-deployment-method conda (paths in rule files are
# relative to workflow/rules/): the project's one environment.
CONDA_ENV = "../../environment.yml"
DATASET = config["dataset"]["name"]
MANIFEST = f"data/{DATASET}/manifest.csv"
# An independent judge: the classifier that scores the claim must not have trained the codecs
# nor labelled the photos (teacher labels of the sample and folder datasets).
_JUDGE = config.get("evaluate", {}).get("judge")
_PARTIES = {config.get("train", {}).get("classifier", "efficientnet_lite0"): "train.classifier (the task loss)"}
if config["dataset"]["kind"] != "imagenet":
    _PARTIES[config["dataset"].get("teacher", "efficientnet_lite0")] = "dataset.teacher (labelled the photos)"
if _JUDGE and _JUDGE not in config.get("evaluate", {}).get("classifiers", [_JUDGE]):
    raise ValueError(f"evaluate.judge {_JUDGE} is not among evaluate.classifiers "
                     f"{config['evaluate']['classifiers']}: add it there, or name one of them")
if _JUDGE in _PARTIES:
    raise ValueError(f"evaluate.judge {_JUDGE} is also {_PARTIES[_JUDGE]}: the judge must be independent; "
                     f"name another classifier of evaluate.classifiers")

# Codecs to train and evaluate; a defined codec may be disabled (the diagnostic variants).
CODECS = {name: spec for name, spec in config.get("codecs", {}).items() if spec.get("enabled", True)}

# The study's view (data/view.py): one setting for training, coding, anchors and scoring.
VIEW = config["view"]
VIEW_SETTINGS = {"view": VIEW["size"], "classifier_crop": VIEW["classifier_crop"]}


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


# Used by more than one rule file (bitstreams.smk, evaluate.smk), so defined here: a rule file
# must not depend on a function only another rule file defines.
def bitstream_models():
    """Every trained model that is coded and evaluated (see train.smk, learned_models)."""
    return learned_models(evaluated_only=True) if "learned_models" in globals() else []


def model_id_pattern():
    return "|".join(re.escape(m["id"]) for m in bitstream_models()) or "none"


def bitstream_dir(m):
    return f"results/bitstreams/{m['id']}"
