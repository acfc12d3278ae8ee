# Evaluation (PLAN.evaluation): decoded views (reference, anchors, every coded model's
# bitstreams) measured and classified once each; then, per hierarchy, the per-image, summary
# and BD tables, the claims, the receiver, and the headline for DVC.
EVALUATION = PLAN.evaluation
ANCHORS = alternatives(ANCHOR_CODECS)
VIEW_OUTPUTS = {name.split(".")[0]: name for name in VIEW_FILES}


rule evaluate_anchor_views:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
    output:
        **{key: f"results/metrics/views/anchor/{{anchor}}/{name}" for key, name in VIEW_OUTPUTS.items()},
        recon=directory("results/metrics/views/anchor/{anchor}/recon"),
    params:
        settings=lambda w: as_json(EVALUATION.anchor_views_settings(w.anchor)),
        output_dir=lambda w, output: os.path.dirname(output.views),
    benchmark:
        "results/benchmarks/evaluate/views_{anchor}.tsv"
    log:
        "results/logs/evaluate/views_{anchor}.log",
    wildcard_constraints:
        anchor=ANCHORS,
    threads: EVALUATION.settings["threads"]
    resources:
        # what Slurm is asked for, whatever --cores the submit host has (common.smk, cluster_resources)
        **cluster_resources(EVALUATION.settings["threads"], MEM_MB["anchor_views"]),
    shell:
        "python -m coarse2fine.evaluate views --settings {params.settings:q} --manifest {input.manifest}"
        " --output-dir {params.output_dir} > {log} 2>&1"


rule evaluate_learned_views:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        sizes="results/bitstreams/{model}/sizes.csv",
        # The images the round-trip check decoded (in a fresh process, bit-exact with the
        # encoder's): evaluated as they are, not decoded a second time.
        decoded="results/bitstreams/{model}/decoded",
        roundtrip="results/bitstreams/{model}/roundtrip.json",
        # CPIPS in the same pass: a learned model waits for training anyway, and one job instead
        # of two saves a process start-up per model.
        cpips=lambda w: EVALUATION.cpips_checkpoint(),
    output:
        **{key: f"results/metrics/views/learned/{{model}}/{name}" for key, name in VIEW_OUTPUTS.items()},
        recon=directory("results/metrics/views/learned/{model}/recon"),
    params:
        settings=lambda w: as_json(EVALUATION.learned_views_settings(w.model)),
        output_dir=lambda w, output: os.path.dirname(output.views),
    benchmark:
        "results/benchmarks/evaluate/views/{model}.tsv"
    log:
        "results/logs/evaluate/views/{model}.log",
    wildcard_constraints:
        model=CODED_MODELS,
    threads: EVALUATION.settings["threads"]
    resources:
        # what Slurm is asked for, whatever --cores the submit host has (common.smk, cluster_resources)
        **cluster_resources(EVALUATION.settings["threads"], MEM_MB["learned_views"]),
    priority: PRIORITY["training_chain"]
    shell:
        "python -m coarse2fine.evaluate views --settings {params.settings:q} --manifest {input.manifest}"
        " --output-dir {params.output_dir} > {log} 2>&1"


# An anchor's CPIPS in a job of its own (cpips.csv beside views.csv, joined on the view's key):
# CPIPS needs the classifier-trained codec, and the anchors' views should not wait for
# training. Learned models compute it in their views job.
rule evaluate_anchor_cpips:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        views="results/metrics/views/anchor/{anchor}/views.csv",
        checkpoint=lambda w: EVALUATION.cpips_checkpoint(),
    output:
        "results/metrics/views/anchor/{anchor}/cpips.csv",
    params:
        settings=lambda w: as_json(EVALUATION.anchor_views_settings(w.anchor)),
    benchmark:
        "results/benchmarks/evaluate/cpips/{anchor}.tsv"
    log:
        "results/logs/evaluate/cpips/{anchor}.log",
    wildcard_constraints:
        anchor=ANCHORS,
    threads: EVALUATION.settings["threads"]
    resources:
        # what Slurm is asked for, whatever --cores the submit host has (common.smk, cluster_resources)
        **cluster_resources(EVALUATION.settings["threads"], MEM_MB["anchor_views"]),
    shell:
        "python -m coarse2fine.evaluate cpips --settings {params.settings:q} --manifest {input.manifest}"
        " --views {input.views} --checkpoint {input.checkpoint} --output {output} > {log} 2>&1"


rule evaluate_tables:
    conda:
        CONDA_ENV
    input:
        hierarchy="results/hierarchy/{hierarchy}/assignments.csv",
        views=lambda w: EVALUATION.table_inputs(w.hierarchy),
    output:
        per_image="results/metrics/tables/{hierarchy}/per_image.csv",
        summary="results/metrics/tables/{hierarchy}/summary.csv",
        summary_md="results/metrics/tables/{hierarchy}/summary.md",
        bd="results/metrics/tables/{hierarchy}/bd.csv",
        bd_md="results/metrics/tables/{hierarchy}/bd.md",
        levels="results/metrics/tables/{hierarchy}/levels.json",
        progressive=multiext("results/metrics/tables/{hierarchy}/progressive_check", ".json", ".md"),
        prior="results/metrics/tables/{hierarchy}/prior.md",
        breakdown=multiext("results/metrics/tables/{hierarchy}/breakdown", ".csv", ".md"),
        # CPIPS perceptual check (rises as JPEG quality falls; correlations), with CPIPS only
        cpips_check=[f"results/metrics/tables/{{hierarchy}}/{name}" for name in EVALUATION.cpips_check_files()],
    params:
        settings=as_json(EVALUATION.table_settings()),
        views=lambda w: EVALUATION.table_views_dirs(w.hierarchy),
        output_dir=lambda w, output: os.path.dirname(output.per_image),
    benchmark:
        "results/benchmarks/evaluate/tables_{hierarchy}.tsv"
    log:
        "results/logs/evaluate/tables_{hierarchy}.log",
    resources:
        mem_mb=MEM_MB["tables"],
    shell:
        "python -m coarse2fine.evaluate tables --settings {params.settings:q} --hierarchy {input.hierarchy}"
        " --views {params.views} --output-dir {params.output_dir} > {log} 2>&1"


rule evaluate_claim:
    conda:
        CONDA_ENV
    input:
        per_image="results/metrics/tables/{hierarchy}/per_image.csv",
        levels="results/metrics/tables/{hierarchy}/levels.json",
    output:
        md="results/metrics/tables/{hierarchy}/claim/{method}/claim.md",
        json="results/metrics/tables/{hierarchy}/claim/{method}/claim.json",
        paired="results/metrics/tables/{hierarchy}/claim/{method}/claim_paired.csv",
        bd="results/metrics/tables/{hierarchy}/claim/{method}/claim_bd.csv",
        # every seed's run pair and their seed average, for the paired-difference figure
        runs="results/metrics/tables/{hierarchy}/claim/{method}/claim_runs.csv",
        seeds="results/metrics/tables/{hierarchy}/claim/{method}/claim_seeds.csv",
    params:
        settings=lambda w: as_json(EVALUATION.claim_settings(w.method)),
        output_dir=lambda w, output: os.path.dirname(output.md),
    log:
        "results/logs/evaluate/claim_{hierarchy}_{method}.log",
    wildcard_constraints:
        method=CODEC_NAMES,
    resources:
        mem_mb=MEM_MB["tables"],
    shell:
        "python -m coarse2fine.evaluate claim --settings {params.settings:q} --per-image {input.per_image}"
        " --levels {input.levels} --output-dir {params.output_dir} > {log} 2>&1"


# The headline numbers and rate-accuracy points of the first hierarchy, for DVC: dvc.yaml
# declares metrics/headline.json as metrics and metrics/plots/L<k>/<codec>.csv as plots, both in
# git (docs/evaluation.md); details.json stays with the cached tables.
rule evaluate_headline:
    conda:
        CONDA_ENV
    input:
        summary=f"{EVALUATION.headline_tables}/summary.csv",
        bd=f"{EVALUATION.headline_tables}/bd.csv",
        levels=f"{EVALUATION.headline_tables}/levels.json",
        claims=EVALUATION.headline_claims(),
    output:
        metrics=HEADLINE_METRICS,
        details="results/metrics/details.json",
        plots=directory("metrics/plots"),
    params:
        tables=lambda w, input: os.path.dirname(input.summary),
        judge=EVALUATION.judge,
    log:
        "results/logs/evaluate/headline.log",
    shell:
        "python -m coarse2fine.evaluate headline --tables {params.tables} --judge {params.judge} --claims {input.claims}"
        " --metrics {output.metrics} --details {output.details} --plots {output.plots} > {log} 2>&1"


# The confidence-driven receiver on every progressive stream (docs/evaluation.md, "The receiver").
rule evaluate_receiver:
    conda:
        CONDA_ENV
    input:
        per_image="results/metrics/tables/{hierarchy}/per_image.csv",
    output:
        csv="results/metrics/tables/{hierarchy}/receiver/receiver.csv",
        md="results/metrics/tables/{hierarchy}/receiver/receiver.md",
    params:
        judge=EVALUATION.judge,
        thresholds=" ".join(str(t) for t in EVALUATION.receiver_thresholds()),
        output_dir=lambda w, output: os.path.dirname(output.csv),
    log:
        "results/logs/evaluate/receiver_{hierarchy}.log",
    shell:
        "python -m coarse2fine.evaluate receiver --per-image {input.per_image} --judge {params.judge}"
        " --thresholds {params.thresholds} --output-dir {params.output_dir} > {log} 2>&1"
