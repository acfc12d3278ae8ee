# Evaluation (PLAN.evaluation): decoded views (reference, anchors, every coded model's
# bitstreams) measured and classified once each; then, per hierarchy, the per-image, summary
# and BD tables, the claims, the receiver, and the headline for DVC.
EVALUATION = PLAN.evaluation
ANCHORS = alternatives(ANCHOR_CODECS)


rule evaluate_anchor_views:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
    output:
        **paths.view_files(paths.anchor_views_dir()),
        recon=directory(paths.recon_dir(paths.anchor_views_dir())),
    params:
        settings=lambda w: as_json(EVALUATION.anchor_views_settings(w.anchor)),
        output_dir=lambda w, output: os.path.dirname(output.views),
    benchmark:
        paths.benchmark("evaluate", "views_{anchor}")
    log:
        paths.log("evaluate", "views_{anchor}"),
    wildcard_constraints:
        anchor=ANCHORS,
    threads: PLAN.threads("anchor_views")
    resources:
        **PLAN.resources("anchor_views"),
    shell:
        "python -m coarse2fine.evaluate views --settings {params.settings:q} --manifest {input.manifest}"
        " --output-dir {params.output_dir} > {log} 2>&1"


# The same job on a coded model's bitstreams (its views settings name them), on the training
# chain: a learned model's views are what its tables wait for.
use rule evaluate_anchor_views as evaluate_learned_views with:
    input:
        manifest=MANIFEST,
        sizes=paths.sizes(),
        # The images the round-trip check decoded (in a fresh process, bit-exact with the
        # encoder's): evaluated as they are, not decoded a second time.
        decoded=paths.decoded(),
        roundtrip=paths.roundtrip(),
        # CPIPS in the same pass: a learned model waits for training anyway, and one job instead
        # of two saves a process start-up per model.
        cpips=lambda w: EVALUATION.cpips_checkpoint(),
    output:
        **paths.view_files(paths.learned_views_dir()),
        recon=directory(paths.recon_dir(paths.learned_views_dir())),
    params:
        settings=lambda w: as_json(EVALUATION.learned_views_settings(w.model)),
    benchmark:
        paths.benchmark("evaluate", "views/{model}")
    log:
        paths.log("evaluate", "views/{model}"),
    wildcard_constraints:
        model=CODED_MODELS,
    resources:
        **PLAN.resources("learned_views"),
    priority: PRIORITY["training_chain"]


# An anchor's CPIPS in a job of its own (cpips.csv beside views.csv, joined on the view's key):
# CPIPS needs the classifier-trained codec, and the anchors' views should not wait for
# training. Learned models compute it in their views job.
rule evaluate_anchor_cpips:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        views=paths.view_files(paths.anchor_views_dir())["views"],
        checkpoint=lambda w: EVALUATION.cpips_checkpoint(),
    output:
        paths.anchor_cpips(),
    params:
        settings=lambda w: as_json(EVALUATION.anchor_views_settings(w.anchor)),
    benchmark:
        paths.benchmark("evaluate", "cpips/{anchor}")
    log:
        paths.log("evaluate", "cpips/{anchor}"),
    wildcard_constraints:
        anchor=ANCHORS,
    threads: PLAN.threads("anchor_views")
    resources:
        **PLAN.resources("anchor_views"),
    shell:
        "python -m coarse2fine.evaluate cpips --settings {params.settings:q} --manifest {input.manifest}"
        " --views {input.views} --checkpoint {input.checkpoint} --output {output} > {log} 2>&1"


rule evaluate_tables:
    conda:
        CONDA_ENV
    input:
        hierarchy=paths.assignments(),
        views=lambda w: EVALUATION.table_inputs(w.hierarchy),
    output:
        per_image=paths.table("per_image.csv"),
        summary=paths.table("summary.csv"),
        summary_md=paths.table("summary.md"),
        bd=paths.table("bd.csv"),
        bd_md=paths.table("bd.md"),
        levels=paths.table("levels.json"),
        progressive=multiext(paths.table("progressive_check"), ".json", ".md"),
        prior=paths.table("prior.md"),
        breakdown=multiext(paths.table("breakdown"), ".csv", ".md"),
        # CPIPS perceptual check (rises as JPEG quality falls; correlations), with CPIPS only
        cpips_check=[paths.table(name) for name in EVALUATION.cpips_check_files()],
    params:
        settings=as_json(EVALUATION.table_settings()),
        views=lambda w: EVALUATION.table_views_dirs(w.hierarchy),
        output_dir=lambda w, output: os.path.dirname(output.per_image),
    benchmark:
        paths.benchmark("evaluate", "tables_{hierarchy}")
    log:
        paths.log("evaluate", "tables_{hierarchy}"),
    resources:
        **PLAN.resources("tables"),
    shell:
        "python -m coarse2fine.evaluate tables --settings {params.settings:q} --hierarchy {input.hierarchy}"
        " --views {params.views} --output-dir {params.output_dir} > {log} 2>&1"


rule evaluate_claim:
    conda:
        CONDA_ENV
    input:
        per_image=paths.table("per_image.csv"),
        levels=paths.table("levels.json"),
    output:
        md=paths.claim_file("claim.md"),
        json=paths.claim_file("claim.json"),
        paired=paths.claim_file("claim_paired.csv"),
        bd=paths.claim_file("claim_bd.csv"),
        # every seed's run pair and their seed average, for the paired-difference figure
        runs=paths.claim_file("claim_runs.csv"),
        seeds=paths.claim_file("claim_seeds.csv"),
    params:
        settings=lambda w: as_json(EVALUATION.claim_settings(w.method)),
        output_dir=lambda w, output: os.path.dirname(output.md),
    log:
        paths.log("evaluate", "claim_{hierarchy}_{method}"),
    wildcard_constraints:
        method=CODEC_NAMES,
    resources:
        **PLAN.resources("tables"),
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
        summary=paths.table("summary.csv", EVALUATION.headline_hierarchy),
        bd=paths.table("bd.csv", EVALUATION.headline_hierarchy),
        levels=paths.table("levels.json", EVALUATION.headline_hierarchy),
        claims=EVALUATION.headline_claims(),
    output:
        metrics=paths.HEADLINE_METRICS,
        details=paths.HEADLINE_DETAILS,
        plots=directory(paths.HEADLINE_PLOTS),
    params:
        tables=lambda w, input: os.path.dirname(input.summary),
        judge=EVALUATION.judge,
    log:
        paths.log("evaluate", "headline"),
    shell:
        "python -m coarse2fine.evaluate headline --tables {params.tables} --judge {params.judge} --claims {input.claims}"
        " --metrics {output.metrics} --details {output.details} --plots {output.plots} > {log} 2>&1"


# The confidence-driven receiver on every progressive stream (docs/evaluation.md, "The receiver").
rule evaluate_receiver:
    conda:
        CONDA_ENV
    input:
        per_image=paths.table("per_image.csv"),
    output:
        csv=paths.receiver_file("receiver.csv"),
        md=paths.receiver_file("receiver.md"),
    params:
        judge=EVALUATION.judge,
        thresholds=" ".join(str(t) for t in EVALUATION.receiver_thresholds()),
        output_dir=lambda w, output: os.path.dirname(output.csv),
    log:
        paths.log("evaluate", "receiver_{hierarchy}"),
    shell:
        "python -m coarse2fine.evaluate receiver --per-image {input.per_image} --judge {params.judge}"
        " --thresholds {params.thresholds} --output-dir {params.output_dir} > {log} 2>&1"
