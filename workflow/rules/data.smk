# Datasets as manifests (path, sha256, size, label, label source, split).


rule dataset_manifest:
    conda:
        CONDA_ENV
    output:
        manifest="data/{dataset}/manifest.csv",
        info="data/{dataset}/dataset.json",
    params:
        settings=lambda w: as_json(config["dataset"]),
    log:
        "results/logs/data/{dataset}.log",
    wildcard_constraints:
        dataset=DATASET,
    shell:
        "python -m coarse2fine.data --settings {params.settings:q} --output {output.manifest} > {log} 2>&1"


rule class_list:
    conda:
        CONDA_ENV
    output:
        "results/classes/imagenet1k_classes.csv",
    log:
        "results/logs/data/class_list.log",
    shell:
        "python -m coarse2fine.hierarchy.classes --output {output} > {log} 2>&1"


def data_targets():
    return [MANIFEST, "results/classes/imagenet1k_classes.csv"]
