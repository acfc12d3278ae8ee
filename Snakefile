# coarse2fine: the whole study as one DAG. `snakemake --cores all` builds every figure and table
# for the configuration in config/config.yaml (or --configfile config/imagenet.yaml).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/hierarchy.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/bitstreams.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_targets(),
    default_target: True


# One target per stage (`snakemake stage_train`): what dvc.yaml's stages run.
for _stage in STAGES:

    rule:
        name:
            f"stage_{_stage}"
        input:
            stage_targets(_stage),
