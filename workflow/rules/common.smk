# Config loading and validation, the study plan, and what every rule file shares. The Snakefile
# includes this first; rule files define rules only and ask PLAN (coarse2fine.plan) for their
# inputs, params, resources and targets, and `paths` (coarse2fine.plan.paths, the templates the
# plan fills too) for every file they name.
import glob
import os
import sys
from pathlib import Path

from snakemake.utils import validate

from coarse2fine.config_schema import CONFIG_SCHEMA
from coarse2fine.architectures import validate_architecture
from coarse2fine.plan import STAGES, StudyPlan, paths
from coarse2fine.plan.config import as_json, load_hierarchy_config
from coarse2fine.plan.confirmation import CONFIRM_TABLE_FILES
from coarse2fine.plan.evaluation import ANCHOR_CODECS, FIGURE_NAMES
from coarse2fine.plan.hierarchy import alternatives

validate(config, schema=str(CONFIG_SCHEMA))  # package data: coarse2fine/schemas/
# Every codec's `architecture` against its codec's own schema (the keyword arguments of
# build_codec), so a misspelt key fails now, not when its training job runs.
for _section in ("codecs", "baselines"):
    for _name, _spec in config.get(_section, {}).items():
        validate_architecture(_spec["architecture"], f"config {_section}.{_name}.architecture")

PLAN = StudyPlan(config, load_hierarchy_config(config["hierarchy"]["config"]))
MANIFEST = PLAN.manifest
# Wildcard constraints more than one rule file uses (a rule file reads no other's names).
CODEC_NAMES = alternatives(PLAN.training.codecs)
CODED_MODELS = alternatives(m.id for m in PLAN.training.coded_models())
# models/<kind>/<name> of each model that comes with the repository (shipped.smk)
SHIPPED_MODELS = sorted(
    os.path.dirname(os.path.relpath(p, paths.MODELS)) for p in glob.glob(paths.shipped_dvc_file("*/*"))
)

# Every rule runs `python -m coarse2fine...`. Jobs find the environment that runs Snakemake (the
# project's venv, or the conda environment of environment.yml) first on their PATH, however
# Snakemake was started; with --software-deployment-method conda, the workflow's environment
# (the Snakefile's `conda:`) is activated in each job instead. The command names no path, so
# it is the same on every machine and a moved checkout reruns nothing.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.prefix, "bin")), os.environ.get("PATH", "")])
# Every rule's software under --software-deployment-method conda (paths in rule files are
# relative to workflow/rules/): the project's one environment.
CONDA_ENV = "../../environment.yml"

# The schedule. On a few cores the critical path is the training chain: the base, then the
# fine-tunes, then each model's coding and views. The base heads it; the hierarchy jobs come
# next (the fine-tunes need them); the baselines' phase chains are longer than any single
# fine-tune, so they start before the fine-tunes; everything off the chain (anchors, tables,
# figures) runs when a core is free.
PRIORITY = {"base": 30, "hierarchy": 20, "baseline_chain": 15, "training_chain": 10}
