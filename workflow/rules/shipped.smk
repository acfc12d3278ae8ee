# The models that come with the repository (models/<kind>/<name>/model.pt: the base codec the
# fine-tunes start from, the adapted base, the shipped baselines, the CLI's default), DVC-tracked
# in the remote inside the repository (models/remote). A job that needs one and finds it missing
# pulls it here, offline, and verifies it against the sha256 its provenance.json records, so the
# first `snakemake --cores all` or `dvc repro` of a fresh clone needs no step before it. The
# model.pt.dvc file is the input: a `git pull` that brings a new model brings a newer .dvc file,
# and the stale copy is pulled again.
rule shipped_model:
    conda:
        CONDA_ENV
    input:
        dvc_file=paths.shipped_dvc_file(),
        provenance=paths.shipped_provenance(),
    output:
        paths.shipped_model(),
    wildcard_constraints:
        shipped=alternatives(SHIPPED_MODELS),
    log:
        paths.log("shipped", "{shipped}"),
    shell:
        "PYTHON=python bash scripts/pull-models.sh {input.dvc_file} > {log} 2>&1"
