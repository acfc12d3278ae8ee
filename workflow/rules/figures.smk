# Figures of the evaluation, per hierarchy: top-1 vs bpp per level (the main figure), balanced
# accuracy vs bpp (the endpoint), PSNR and MS-SSIM vs bpp, Wu-Palmer vs bpp, the paired
# difference of the claim, reconstructions per level and at equal rate, the coarse confusion,
# the receiver, the training curves; each PNG + PDF, the PNGs captioned in `snakemake --report`,
# which opens on the study's overview (`report_overview`: the description, the claim, the main
# figure, the training curves) once a run has written it, on the description alone before.
OVERVIEW = PLAN.evaluation.overview_inputs()


report: os.path.abspath(paths.REPORT_OVERVIEW) if os.path.exists(paths.REPORT_OVERVIEW) else "../report/workflow.rst"


rule evaluation_figures:
    conda:
        CONDA_ENV
    input:
        summary=paths.table("summary.csv"),
        per_image=paths.table("per_image.csv"),
        levels=paths.table("levels.json"),
        recon=lambda w: PLAN.evaluation.figure_recon_dirs(w.hierarchy),
        claim=lambda w: PLAN.evaluation.figure_claim_tables(w.hierarchy),
    output:
        top1=report(paths.figure("top1_vs_bpp.png"), caption="../report/top1_vs_bpp.rst",
                    category="Evaluation", subcategory="{hierarchy}", labels={"figure": "top-1 vs bpp", "hierarchy": "{hierarchy}"}),
        wu_palmer=report(paths.figure("wu_palmer_vs_bpp.png"), caption="../report/wu_palmer_vs_bpp.rst",
                         category="Evaluation", subcategory="{hierarchy}", labels={"figure": "Wu-Palmer vs bpp", "hierarchy": "{hierarchy}"}),
        recon=report(paths.figure("reconstructions.png"), caption="../report/reconstructions.rst",
                     category="Evaluation", subcategory="{hierarchy}", labels={"figure": "reconstructions", "hierarchy": "{hierarchy}"}),
        confusion=report(paths.figure("coarse_confusion.png"), caption="../report/coarse_confusion.rst",
                         category="Evaluation", subcategory="{hierarchy}", labels={"figure": "coarse confusion", "hierarchy": "{hierarchy}"}),
        balanced=report(paths.figure("balanced_vs_bpp.png"), caption="../report/balanced_vs_bpp.rst",
                        category="Evaluation", subcategory="{hierarchy}", labels={"figure": "balanced accuracy vs bpp", "hierarchy": "{hierarchy}"}),
        quality=report(paths.figure("quality_vs_bpp.png"), caption="../report/quality_vs_bpp.rst",
                       category="Evaluation", subcategory="{hierarchy}", labels={"figure": "PSNR and MS-SSIM vs bpp", "hierarchy": "{hierarchy}"}),
        paired=report(paths.figure("paired_difference.png"), caption="../report/paired_difference.rst",
                      category="Evaluation", subcategory="{hierarchy}", labels={"figure": "paired difference", "hierarchy": "{hierarchy}"}),
        equal_rate=report(paths.figure("reconstructions_equal_rate.png"), caption="../report/reconstructions_equal_rate.rst",
                          category="Evaluation", subcategory="{hierarchy}", labels={"figure": "reconstructions at equal rate", "hierarchy": "{hierarchy}"}),
        pdfs=[paths.figure(f"{name}.pdf") for name in FIGURE_NAMES],
    params:
        settings=as_json(PLAN.evaluation.figure_settings),
        metrics_dir=lambda w, input: os.path.dirname(input.summary),
        output_dir=lambda w, output: os.path.dirname(output.top1),
        claim=lambda w, input: f"--claim-dir {os.path.dirname(input.claim[0])}" if getattr(input, "claim", []) else "",
    log:
        paths.log("figures", "evaluation_{hierarchy}"),
    shell:
        "python -m coarse2fine.figures evaluation --settings {params.settings:q} --metrics-dir {params.metrics_dir}"
        " --output-dir {params.output_dir} {params.claim} > {log} 2>&1"


rule receiver_figure:
    conda:
        CONDA_ENV
    input:
        paths.receiver_file("receiver.csv"),
    output:
        png=report(paths.figure("receiver.png"), caption="../report/receiver.rst",
                   category="Evaluation", subcategory="{hierarchy}", labels={"figure": "receiver", "hierarchy": "{hierarchy}"}),
        pdf=paths.figure("receiver.pdf"),
    params:
        stem=lambda w, output: os.path.splitext(output.png)[0],
    log:
        paths.log("figures", "receiver_{hierarchy}"),
    shell:
        "python -m coarse2fine.figures receiver --table {input} --output {params.stem} > {log} 2>&1"


# The hierarchies' overview (cluster sizes, agreement), drawn by the figures package. Its files
# belong to the hierarchy stage (results/hierarchy/, one DVC output), which builds them.
rule hierarchy_figure:
    conda:
        CONDA_ENV
    input:
        agreement=f"{paths.AGREEMENT}.csv",
        assignments=[paths.assignments(n) for n in PLAN.hierarchy.enabled],
    output:
        png=f"{paths.HIERARCHY_OVERVIEW}.png",
        pdf=f"{paths.HIERARCHY_OVERVIEW}.pdf",
    log:
        paths.log("hierarchy", "figure"),
    shell:
        "python -m coarse2fine.figures hierarchy --agreement {input.agreement} "
        "--assignments {input.assignments} --output {output.png} {output.pdf} > {log} 2>&1"


# The report shows a copy of the overview under a caption of its own.
rule report_hierarchy_figure:
    conda:
        CONDA_ENV
    input:
        f"{paths.HIERARCHY_OVERVIEW}.png",
    output:
        report(paths.REPORT_HIERARCHY_OVERVIEW, caption="../report/hierarchy_overview.rst", category="Hierarchy"),
    log:
        paths.log("figures", "hierarchy_overview"),
    shell:
        "cp {input} {output} 2> {log}"


rule report_tables:
    conda:
        CONDA_ENV
    input:
        summary=paths.table("summary.csv"),
        bd=paths.table("bd.csv"),
    output:
        summary=report(paths.figure("summary.csv"), caption="../report/summary_table.rst",
                       category="Evaluation", subcategory="{hierarchy}", labels={"figure": "summary table", "hierarchy": "{hierarchy}"}),
        bd=report(paths.figure("bd.csv"), caption="../report/bd_table.rst",
                  category="Evaluation", subcategory="{hierarchy}", labels={"figure": "BD table", "hierarchy": "{hierarchy}"}),
    log:
        paths.log("figures", "tables_{hierarchy}"),
    shell:
        "(cp {input.summary} {output.summary} && cp {input.bd} {output.bd}) 2> {log}"


rule training_figure:
    conda:
        CONDA_ENV
    input:
        lambda w: PLAN.evaluation.training_logs(w.hierarchy),
    output:
        png=report(paths.figure("training_curves.png"), caption="../report/training_curves.rst",
                   category="Training", labels={"figure": "training curves", "hierarchy": "{hierarchy}"}),
        pdf=paths.figure("training_curves.pdf"),
    params:
        stem=lambda w, output: os.path.splitext(output.png)[0],
    log:
        paths.log("figures", "training_{hierarchy}"),
    shell:
        "python -m coarse2fine.figures training --logs {input} --output {params.stem} > {log} 2>&1"


rule report_overview:
    conda:
        CONDA_ENV
    input:
        # the description beside this file, as a path from the working directory
        description=os.path.relpath(Path(workflow.current_basedir, "..", "report", "workflow.rst")),
        **OVERVIEW,
    output:
        paths.REPORT_OVERVIEW,
    params:
        claim=lambda w, input: f"--claim {input.claim}" if "claim" in OVERVIEW else "",
        training=lambda w, input: f"--training {input.training}" if "training" in OVERVIEW else "",
    log:
        paths.log("figures", "report_overview"),
    shell:
        "python -m coarse2fine.figures overview --description {input.description} --figure {input.figure}"
        " {params.claim} {params.training} --output {output} > {log} 2>&1"
