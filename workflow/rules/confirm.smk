# The confirmation (PLAN.confirmation): the frozen models of the claim on a folder of labelled
# photos that took no part in any choice. Nothing trains; `snakemake --cores all confirm
# --config 'confirm={folder: /path/to/photos}'` writes results/confirm/<name>/tables/. Its
# manifest and claim are the study's rules (data.smk, evaluate.smk) with the folder's files.
CONFIRM = PLAN.confirmation


use rule dataset_manifest as confirm_manifest with:
    output:
        manifest=paths.manifest(CONFIRM.dataset),
        info=paths.dataset_info(CONFIRM.dataset),
    params:
        settings=lambda w: as_json(CONFIRM.dataset_settings()),
    log:
        paths.log("confirm", f"{CONFIRM.name}/manifest"),


rule confirm_reference_views:
    conda:
        CONDA_ENV
    input:
        manifest=CONFIRM.manifest,
    output:
        **paths.view_files(CONFIRM.reference_dir),
    params:
        settings=as_json(CONFIRM.views_settings(None)),
        output_dir=lambda w, output: os.path.dirname(output.views),
    log:
        paths.log("confirm", f"{CONFIRM.name}/views_uncompressed"),
    threads: PLAN.threads("anchor_views")
    resources:
        **PLAN.resources("anchor_views"),
    shell:
        "python -m coarse2fine.evaluate views --settings {params.settings:q} --manifest {input.manifest}"
        " --output-dir {params.output_dir} > {log} 2>&1"


# Each frozen model codes the photos on the fly (its views settings name the checkpoint).
use rule confirm_reference_views as confirm_learned_views with:
    input:
        manifest=CONFIRM.manifest,
        model=paths.checkpoint(),
    output:
        **paths.view_files(CONFIRM.views_dir("{model}")),
    params:
        settings=lambda w: as_json(CONFIRM.views_settings(w.model)),
    log:
        paths.log("confirm", f"{CONFIRM.name}/views/{{model}}"),
    wildcard_constraints:
        model=CODED_MODELS,
    resources:
        **PLAN.resources("learned_views"),


rule confirm_tables:
    conda:
        CONDA_ENV
    input:
        hierarchy=paths.assignments(),
        views=lambda w: [paths.view_files(d)["views"] for d in CONFIRM.table_views_dirs(w.hierarchy)],
    output:
        **{f.replace(".", "_"): paths.table(f, root=CONFIRM.root) for f in CONFIRM_TABLE_FILES},
        levels=paths.table("levels.json", root=CONFIRM.root),
    params:
        settings=as_json(CONFIRM.table_settings()),
        views=lambda w: CONFIRM.table_views_dirs(w.hierarchy),
        output_dir=lambda w, output: os.path.dirname(output.per_image_csv),
    log:
        paths.log("confirm", f"{CONFIRM.name}/tables_{{hierarchy}}"),
    resources:
        **PLAN.resources("tables"),
    shell:
        "python -m coarse2fine.evaluate tables --settings {params.settings:q} --hierarchy {input.hierarchy}"
        " --views {params.views} --output-dir {params.output_dir} > {log} 2>&1"


# The study's claim on the confirmation's tables: the claim and its summary only.
use rule evaluate_claim as confirm_claim with:
    input:
        per_image=paths.table("per_image.csv", root=CONFIRM.root),
        levels=paths.table("levels.json", root=CONFIRM.root),
    output:
        md=paths.claim_file("claim.md", root=CONFIRM.root),
        json=paths.claim_file("claim.json", root=CONFIRM.root),
    log:
        paths.log("confirm", f"{CONFIRM.name}/claim_{{hierarchy}}_{{method}}"),
