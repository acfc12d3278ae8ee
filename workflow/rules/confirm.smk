# The confirmation (PLAN.confirmation): the frozen models of the claim on a folder of labelled
# photos that took no part in any choice. Nothing trains; `snakemake --cores all confirm
# --config 'confirm={folder: /path/to/photos}'` writes results/confirm/<name>/tables/.
CONFIRM = PLAN.confirmation


rule confirm_manifest:
    conda:
        CONDA_ENV
    output:
        manifest=CONFIRM.manifest,
        info=CONFIRM.manifest.replace("manifest.csv", "dataset.json"),
    params:
        settings=lambda w: as_json(CONFIRM.dataset_settings()),
    log:
        f"results/logs/confirm/{CONFIRM.name}/manifest.log",
    shell:
        "python -m coarse2fine.data build --settings {params.settings:q} --output {output.manifest} > {log} 2>&1"


rule confirm_reference_views:
    conda:
        CONDA_ENV
    input:
        manifest=CONFIRM.manifest,
    output:
        **{key: f"{CONFIRM.reference_dir}/{name}" for key, name in VIEW_OUTPUTS.items()},
    params:
        settings=as_json(CONFIRM.views_settings(None)),
        output_dir=lambda w, output: os.path.dirname(output.views),
    log:
        f"results/logs/confirm/{CONFIRM.name}/views_uncompressed.log",
    threads: EVALUATION.settings["threads"]
    resources:
        # what Slurm is asked for, whatever --cores the submit host has (common.smk, cluster_resources)
        **cluster_resources(EVALUATION.settings["threads"], MEM_MB["anchor_views"]),
    shell:
        "python -m coarse2fine.evaluate views --settings {params.settings:q} --manifest {input.manifest}"
        " --output-dir {params.output_dir} > {log} 2>&1"


rule confirm_learned_views:
    conda:
        CONDA_ENV
    input:
        manifest=CONFIRM.manifest,
        model="results/checkpoints/{model}/model.pt",
    output:
        **{key: f"{CONFIRM.root}/views/learned/{{model}}/{name}" for key, name in VIEW_OUTPUTS.items()},
    params:
        settings=lambda w: as_json(CONFIRM.views_settings(w.model)),
        output_dir=lambda w, output: os.path.dirname(output.views),
    log:
        f"results/logs/confirm/{CONFIRM.name}/views/{{model}}.log",
    wildcard_constraints:
        model=CODED_MODELS,
    threads: EVALUATION.settings["threads"]
    resources:
        # what Slurm is asked for, whatever --cores the submit host has (common.smk, cluster_resources)
        **cluster_resources(EVALUATION.settings["threads"], MEM_MB["learned_views"]),
    shell:
        "python -m coarse2fine.evaluate views --settings {params.settings:q} --manifest {input.manifest}"
        " --output-dir {params.output_dir} > {log} 2>&1"


rule confirm_tables:
    conda:
        CONDA_ENV
    input:
        hierarchy="results/hierarchy/{hierarchy}/assignments.csv",
        views=lambda w: [f"{d}/views.csv" for d in CONFIRM.table_views_dirs(w.hierarchy)],
    output:
        **{f.replace(".", "_"): f"{CONFIRM.root}/tables/{{hierarchy}}/{f}" for f in CONFIRM_TABLE_FILES},
        levels=f"{CONFIRM.root}/tables/{{hierarchy}}/levels.json",
    params:
        settings=as_json(CONFIRM.table_settings()),
        views=lambda w: CONFIRM.table_views_dirs(w.hierarchy),
        output_dir=lambda w, output: os.path.dirname(output.per_image_csv),
    log:
        f"results/logs/confirm/{CONFIRM.name}/tables_{{hierarchy}}.log",
    resources:
        mem_mb=MEM_MB["tables"],
    shell:
        "python -m coarse2fine.evaluate tables --settings {params.settings:q} --hierarchy {input.hierarchy}"
        " --views {params.views} --output-dir {params.output_dir} > {log} 2>&1"


rule confirm_claim:
    conda:
        CONDA_ENV
    input:
        per_image=f"{CONFIRM.root}/tables/{{hierarchy}}/per_image.csv",
        levels=f"{CONFIRM.root}/tables/{{hierarchy}}/levels.json",
    output:
        md=f"{CONFIRM.root}/tables/{{hierarchy}}/claim/{{method}}/claim.md",
        json=f"{CONFIRM.root}/tables/{{hierarchy}}/claim/{{method}}/claim.json",
    params:
        settings=lambda w: as_json(EVALUATION.claim_settings(w.method)),
        output_dir=lambda w, output: os.path.dirname(output.md),
    log:
        f"results/logs/confirm/{CONFIRM.name}/claim_{{hierarchy}}_{{method}}.log",
    wildcard_constraints:
        method=CODEC_NAMES,
    resources:
        mem_mb=MEM_MB["tables"],
    shell:
        "python -m coarse2fine.evaluate claim --settings {params.settings:q} --per-image {input.per_image}"
        " --levels {input.levels} --output-dir {params.output_dir} > {log} 2>&1"
