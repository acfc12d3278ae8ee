# Datasets as manifests (path, sha256, size, label, label source, split).


rule dataset_manifest:
    conda:
        CONDA_ENV
    output:
        manifest=paths.manifest(),
        info=paths.dataset_info(),
    params:
        settings=lambda w: as_json(config["dataset"]),
    log:
        paths.log("data", "{dataset}"),
    wildcard_constraints:
        dataset=PLAN.dataset,
    shell:
        "python -m coarse2fine.data build --settings {params.settings:q} --output {output.manifest} > {log} 2>&1"
