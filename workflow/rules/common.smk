# Config loading and validation, the study plan, and what every rule file shares. The Snakefile
# includes this first; rule files define rules only and ask PLAN (coarse2fine.plan) for their
# inputs, params and targets.
import glob
import os
import sys
from pathlib import Path

from snakemake.utils import validate

from coarse2fine.config_schema import CONFIG_SCHEMA
from coarse2fine.architectures import validate_architecture
from coarse2fine.plan import STAGES, StudyPlan
from coarse2fine.plan.config import as_json, load_hierarchy_config
from coarse2fine.plan.confirmation import CONFIRM_TABLE_FILES
from coarse2fine.plan.evaluation import ANCHOR_CODECS, FIGURE_NAMES, HEADLINE_METRICS, REPORT_OVERVIEW, VIEW_FILES
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
SHIPPED_MODELS = sorted(os.path.dirname(os.path.relpath(p, "models")) for p in glob.glob("models/*/*/model.pt.dvc"))

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
# Memory of the jobs whose size does not come from config (MB, what Slurm is asked for).
MEM_MB = {"coding": 4000, "anchor_views": 3000, "learned_views": 4000, "tables": 3000}



def cluster_resources(threads: int, mem_mb: int, runtime: int | None = None, gpus: int | None = None) -> dict:
    """A job's `resources:` as the Slurm executor reads them (--cpus-per-task, --mem, -t, --gpus).
    The CPUs are `cpus_per_task`, not the rule's `threads:`: Snakemake caps a job's threads at the
    submit host's --cores (snakemake issues 2997, 3191; a 2-core login node would have every job
    ask for 2 CPUs), never its resources. The command still takes `{threads}`: Snakemake fills it
    in where the job runs, capped at the cores there (the job's Slurm allocation, or the machine
    of a local run). A GPU job is one task on one node holding all its GPUs (torchrun starts one
    process per GPU itself): tasks_per_gpu=0 drops the executor's default --ntasks-per-gpu=1,
    which would make it a task per GPU with cpus_per_task CPUs each (without it Slurm gives one
    task), and nodes=1 keeps the GPUs on the node that torchrun --standalone runs on."""
    resources = {"cpus_per_task": threads, "mem_mb": mem_mb}
    if runtime is not None:
        resources["runtime"] = runtime
    if gpus is not None:
        resources["gpu"] = gpus
        if gpus > 0:
            resources.update(tasks_per_gpu=0, nodes=1)
    return resources


def training_resources(kind: str) -> dict:
    """cluster_resources of a `base` or `finetune` training job (train.resources)."""
    wanted = PLAN.training.resources(kind)
    return cluster_resources(wanted["threads"], wanted["mem_mb"], wanted["runtime"], wanted["gpus"])


def figure_claim_tables(hierarchy):
    """The first claim's per-run and seed-averaged tables of a hierarchy ([] without a claim: the
    paired-difference figure then says so)."""
    claims = [t for t in PLAN.evaluation.claim_targets() if t.startswith(f"results/metrics/tables/{hierarchy}/")]
    if not claims:
        return []
    return [f"{os.path.dirname(claims[0])}/{name}" for name in ("claim_runs.csv", "claim_seeds.csv")]
