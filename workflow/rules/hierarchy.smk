# Semantic hierarchies over the ImageNet classes, driven by config/hierarchy.yaml (PLAN.hierarchy):
# one job per hierarchy (its own settings as a param, so editing one entry reruns that entry and
# the agreement table only), one embedding cache per embedder settings, one Wu-Palmer matrix.
HIERARCHIES = PLAN.hierarchy.enabled


rule class_list:
    conda:
        CONDA_ENV
    output:
        paths.CLASS_LIST,
    log:
        paths.log("hierarchy", "class_list"),
    shell:
        "python -m coarse2fine.hierarchy classes --output {output} > {log} 2>&1"


rule hierarchy_wup_similarity:
    conda:
        CONDA_ENV
    output:
        paths.WUP_SIMILARITY,
    log:
        paths.log("hierarchy", "wup_similarity"),
    priority: PRIORITY["hierarchy"]
    shell:
        "python -m coarse2fine.hierarchy wup --output {output} > {log} 2>&1"


rule hierarchy_embed:
    conda:
        CONDA_ENV
    output:
        paths.embeddings(),
    params:
        settings=lambda w: as_json(PLAN.hierarchy.embeddings[w.embedding]),
    log:
        paths.log("hierarchy", "embed_{embedding}"),
    threads: 1  # small jobs; on one thread they run beside the training warm-up
    wildcard_constraints:
        embedding=alternatives(PLAN.hierarchy.embeddings),
    priority: PRIORITY["hierarchy"]
    shell:
        # Offline first: a CLIP download that cannot happen fails at once (HF_HUB_OFFLINE=0 to allow it).
        "HF_HUB_OFFLINE=${{HF_HUB_OFFLINE:-1}} python -m coarse2fine.hierarchy embed --threads {threads} "
        "--settings {params.settings:q} --output {output} > {log} 2>&1"


rule hierarchy_build:
    conda:
        CONDA_ENV
    input:
        unpack(lambda w: PLAN.hierarchy.build_inputs(w.hierarchy)),
    output:
        **paths.hierarchy_files(),
    params:
        settings=lambda w: as_json(PLAN.hierarchy.build_settings(w.hierarchy)),
        embeddings=lambda w, input: f"--embeddings {input.embeddings}" if "embeddings" in input.keys() else "",
        output_dir=lambda w: PLAN.hierarchy.dir(w.hierarchy),
    log:
        paths.log("hierarchy", "build_{hierarchy}"),
    threads: 1  # small jobs; on one thread they run beside the training warm-up
    wildcard_constraints:
        hierarchy=alternatives(HIERARCHIES),
    priority: PRIORITY["hierarchy"]
    shell:
        "python -m coarse2fine.hierarchy build --threads {threads} --settings {params.settings:q} "
        "--wup {input.wup} {params.embeddings} --output-dir {params.output_dir} > {log} 2>&1"


rule hierarchy_agreement:
    conda:
        CONDA_ENV
    input:
        assignments=[paths.assignments(n) for n in HIERARCHIES],
        summaries=[paths.hierarchy_files(n)["summary"] for n in HIERARCHIES],
    output:
        csv=f"{paths.AGREEMENT}.csv",
        md=f"{paths.AGREEMENT}.md",
    log:
        paths.log("hierarchy", "agreement"),
    shell:
        "python -m coarse2fine.hierarchy agreement --assignments {input.assignments} "
        "--output-csv {output.csv} --output-md {output.md} > {log} 2>&1"

