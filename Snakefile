# coarse2fine: the whole study as one DAG. `snakemake --cores all` builds every figure and table
# for the configuration in config/config.yaml (or --configfile config/imagenet.yaml).
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The package is imported from this checkout, installed or not (a conda environment built from
# environment.yml holds the dependencies only); jobs get the same through PYTHONPATH.
_SRC = str(Path(workflow.basedir, "src"))
sys.path.insert(0, _SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p)


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/shipped.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/hierarchy.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/coding.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/confirm.smk"


# Rules that run on the submit host under a cluster executor (profiles/slurm): seconds of work
# each, where a queue wait would cost more than the job. Training, coding and evaluation go to
# the cluster with the threads, memory, runtime and GPUs the config's `resources` give them.
localrules:
    all,
    class_list,
    hierarchy_wup_similarity,
    hierarchy_build,
    hierarchy_agreement,
    hierarchy_figure,
    shipped_model,
    base_checkpoint,
    adapted_checkpoint,
    evaluate_tables,
    evaluate_claim,
    evaluate_headline,
    evaluate_receiver,
    receiver_figure,
    evaluation_figures,
    report_hierarchy_figure,
    report_tables,
    training_figure,
    report_overview,
    confirm_manifest,
    confirm_tables,
    confirm_claim,
    confirm,


rule all:
    input:
        PLAN.all_targets(),
    default_target: True


# The confirmation on a folder of labelled photos (workflow/rules/confirm.smk): not part of `all`.
# An input function, so that a missing confirm.folder stops only this target, naming the setting.
rule confirm:
    input:
        lambda w: PLAN.confirmation.targets(),


# One target per stage (`snakemake stage_training`): what dvc.yaml's stages run.
for _stage in STAGES:

    rule:
        name:
            f"stage_{_stage}"
        input:
            PLAN.stage_targets(_stage),
