# Evaluation: decoded views (reference, anchors, every learned model's bitstreams) measured and
# classified once each; then, per hierarchy, the per-image, summary and BD tables.

EVALUATE = config.get("evaluate", {})
ANCHOR_CODECS = ["uncompressed", "jpeg", "webp", "jpeg2000"]
VIEW_FILES = ("views.csv", "logits.npz", "classifiers.json")


def evaluated_models():
    """Every learned model with bitstreams (train.smk, learned_models); none: anchors only."""
    return bitstream_models() if "bitstream_models" in globals() else []


def evaluate_hierarchies():
    """Hierarchies to tabulate: from config, else those of the learned models, else the first built."""
    if EVALUATE.get("hierarchies"):
        return list(EVALUATE["hierarchies"])
    names = list(dict.fromkeys(m["hierarchy"] for m in evaluated_models() if m["hierarchy"]))
    if not names and "train_hierarchies" in globals():
        names = list(train_hierarchies())
    if not names and globals().get("HIERARCHIES"):
        names = [next(iter(HIERARCHIES))]
    if not names:
        raise ValueError("evaluate.hierarchies is null and no hierarchy is built or trained; name one in config")
    return names


def anchor_views_dir(anchor):
    return f"results/metrics/views/anchor/{anchor}"


def learned_views_dir(m):
    return f"results/metrics/views/learned/{m['id']}"


def learned_model(model_id):
    return next(m for m in evaluated_models() if m["id"] == model_id)


def cpips_model_id():
    """evaluate.cpips_model, `auto` resolved: the claim method (else the first codec with a task
    loss) on the first trained hierarchy at the middle rate point; None without CPIPS."""
    model = EVALUATE.get("cpips_model")
    if model != "auto":
        return model
    methods = [m for m in evaluated_models() if m["hierarchy"] and CODECS.get(m["codec"], {}).get("task_weights")
               and any(w > 0 for w in CODECS[m["codec"]]["task_weights"])]
    if not methods:
        return None
    preferred = (EVALUATE.get("claim") or {}).get("method", "c2f")
    hierarchy = train_hierarchies()[0]
    candidates = [m for m in methods if m["hierarchy"] == hierarchy] or methods
    candidates.sort(key=lambda m: (m["codec"] != preferred, m["codec"]))
    codec = candidates[0]["codec"]
    points = sorted((m for m in candidates if m["codec"] == codec), key=lambda m: int(m["rate_point"][2:]))
    return points[len(points) // 2]["id"]


def cpips_checkpoint(wildcards=None):
    """The checkpoint of the codec whose analysis features CPIPS compares ([] without CPIPS)."""
    model = cpips_model_id()
    return [f"results/checkpoints/{model}/model.pt"] if model else []


def views_settings(provider, cpips=None):
    keys = ("classifiers", "splits", "max_images", "reconstructions", "threads")
    return as_json({"provider": provider, "view": VIEW, **{k: EVALUATE[k] for k in keys}} | ({"cpips": cpips} if cpips else {}))


def learned_provider_spec(model_id):
    m = learned_model(model_id)
    return {"kind": "learned", "codec": m["codec"], "rate_point": m["rate_point"],
            "layers_are_rate_points": m["layers_are_rate_points"],
            "decoded": f"{bitstream_dir(m)}/decoded", "sizes": f"{bitstream_dir(m)}/sizes.csv"}


def anchor_provider_spec(anchor):
    if anchor == "uncompressed":
        return {"kind": "reference"}
    return {"kind": "anchor", "name": anchor, "settings": EVALUATE["anchors"][anchor]}


def table_views_dirs(hierarchy):
    """Every view folder a hierarchy's tables read: the anchors, and its learned models."""
    dirs = [anchor_views_dir(a) for a in ANCHOR_CODECS]
    # a model trained without a hierarchy (a baseline) belongs in every hierarchy's tables
    return dirs + [learned_views_dir(m) for m in evaluated_models() if m["hierarchy"] in (hierarchy, None)]


rule evaluate_anchor_views:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
    output:
        **{f.split(".")[0]: f"results/metrics/views/anchor/{{anchor}}/{f}" for f in VIEW_FILES},
        recon=directory("results/metrics/views/anchor/{anchor}/recon"),
    params:
        settings=lambda w: views_settings(anchor_provider_spec(w.anchor)),
        output_dir=lambda w: anchor_views_dir(w.anchor),
    benchmark:
        "results/benchmarks/evaluate/views_{anchor}.tsv"
    log:
        "results/logs/evaluate/views_{anchor}.log",
    wildcard_constraints:
        anchor="|".join(ANCHOR_CODECS),
    threads: EVALUATE["threads"]
    resources:
        mem_mb=3000,
    shell:
        "python -m coarse2fine.evaluate.views --settings {params.settings:q} --manifest {input.manifest}"
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
        # of two saves a process start-up (about 8 s of imports) per model.
        cpips=cpips_checkpoint,
    output:
        **{f.split(".")[0]: f"results/metrics/views/learned/{{model}}/{f}" for f in VIEW_FILES},
        recon=directory("results/metrics/views/learned/{model}/recon"),
    params:
        settings=lambda w: views_settings(learned_provider_spec(w.model), cpips=next(iter(cpips_checkpoint()), None)),
        output_dir=lambda w: learned_views_dir(learned_model(w.model)),
    benchmark:
        "results/benchmarks/evaluate/views/{model}.tsv"
    log:
        "results/logs/evaluate/views/{model}.log",
    wildcard_constraints:
        model=model_id_pattern(),
    threads: EVALUATE["threads"]
    resources:
        mem_mb=4000,
    # The training chain is the critical path: start it before anything that can wait.
    priority: 10
    shell:
        "python -m coarse2fine.evaluate.views --settings {params.settings:q} --manifest {input.manifest}"
        " --output-dir {params.output_dir} > {log} 2>&1"


# An anchor's CPIPS in a job of its own (evaluate/cpips_views.py -> cpips.csv, row for row with
# views.csv): CPIPS needs the classifier-trained codec, and the anchors' views should not wait
# for training. Learned models compute it in their views job.
rule evaluate_anchor_cpips:
    conda:
        CONDA_ENV
    input:
        manifest=MANIFEST,
        views="results/metrics/views/anchor/{anchor}/views.csv",
        checkpoint=cpips_checkpoint,
    output:
        "results/metrics/views/anchor/{anchor}/cpips.csv",
    params:
        settings=lambda w: views_settings(anchor_provider_spec(w.anchor)),
    benchmark:
        "results/benchmarks/evaluate/cpips/{anchor}.tsv"
    log:
        "results/logs/evaluate/cpips/{anchor}.log",
    wildcard_constraints:
        anchor="|".join(ANCHOR_CODECS),
    threads: EVALUATE["threads"]
    resources:
        mem_mb=3000,
    shell:
        "python -m coarse2fine.evaluate.cpips_views --settings {params.settings:q} --manifest {input.manifest}"
        " --views {input.views} --checkpoint {input.checkpoint} --output {output} > {log} 2>&1"


def table_inputs(hierarchy):
    files = [f"{d}/{f}" for d in table_views_dirs(hierarchy) for f in VIEW_FILES]
    if cpips_checkpoint():
        files += [f"{anchor_views_dir(a)}/cpips.csv" for a in ANCHOR_CODECS]
    return files


rule evaluate_tables:
    conda:
        CONDA_ENV
    input:
        hierarchy="results/hierarchy/{hierarchy}/assignments.csv",
        views=lambda w: table_inputs(w.hierarchy),
    output:
        per_image="results/metrics/tables/{hierarchy}/per_image.csv",
        summary="results/metrics/tables/{hierarchy}/summary.csv",
        summary_md="results/metrics/tables/{hierarchy}/summary.md",
        bd="results/metrics/tables/{hierarchy}/bd.csv",
        bd_md="results/metrics/tables/{hierarchy}/bd.md",
        levels="results/metrics/tables/{hierarchy}/levels.json",
        progressive=multiext("results/metrics/tables/{hierarchy}/progressive_check", ".json", ".md"),
        # CPIPS perceptual check (rises as JPEG quality falls; correlations), with CPIPS only
        cpips_check=[f"results/metrics/tables/{{hierarchy}}/cpips_check.{ext}" for ext in ("json", "md")] if cpips_checkpoint() else [],
    params:
        settings=lambda w: as_json({k: EVALUATE[k] for k in ("bootstrap", "confidence", "bd_anchor")} | {"seed": config["seed"]}),
        views=lambda w: table_views_dirs(w.hierarchy),
        output_dir=lambda w: f"results/metrics/tables/{w.hierarchy}",
    benchmark:
        "results/benchmarks/evaluate/tables_{hierarchy}.tsv"
    log:
        "results/logs/evaluate/tables_{hierarchy}.log",
    resources:
        mem_mb=3000,
    shell:
        "python -m coarse2fine.evaluate.table --settings {params.settings:q} --hierarchy {input.hierarchy}"
        " --views {params.views} --output-dir {params.output_dir} > {log} 2>&1"


CLAIM = EVALUATE.get("claim") or {}


def claim_methods():
    """Codecs trained with a task loss: each is tested against the ablation (claim.method first)."""
    methods = [name for name, spec in CODECS.items() if any(w > 0 for w in spec["task_weights"])]
    return sorted(methods, key=lambda name: name != CLAIM.get("method", "c2f"))


def claim_targets():
    """(hierarchy, method) pairs where the method and its ablation were trained, with a judge set."""
    if not EVALUATE.get("judge"):
        return []
    trained = {}
    for m in evaluated_models():
        trained.setdefault(m["hierarchy"], set()).add(m["codec"])
    return [f"results/metrics/tables/{h}/claim/{method}/claim.md"
            for h in evaluate_hierarchies() for method in claim_methods()
            if {method, CLAIM["ablation"]} <= trained.get(h, set())]


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
    params:
        settings=lambda w: as_json(CLAIM | {"method": w.method, "judge": EVALUATE["judge"], "seed": config["seed"],
                                            "confidence": EVALUATE["confidence"]}),
        output_dir=lambda w: f"results/metrics/tables/{w.hierarchy}/claim/{w.method}",
    log:
        "results/logs/evaluate/claim_{hierarchy}_{method}.log",
    wildcard_constraints:
        method="|".join(CODECS) or "none",
    resources:
        mem_mb=3000,
    shell:
        "python -m coarse2fine.evaluate.claim --settings {params.settings:q} --per-image {input.per_image}"
        " --levels {input.levels} --output-dir {params.output_dir} > {log} 2>&1"


# The headline hierarchy: the first tabulated.
HEADLINE_TABLES = f"results/metrics/tables/{evaluate_hierarchies()[0]}"


def headline_claims():
    """The claim.json files of the headline hierarchy."""
    return [t.replace(".md", ".json") for t in claim_targets() if t.startswith(f"{HEADLINE_TABLES}/")]


# The headline numbers and rate-accuracy points of the first hierarchy, for DVC: dvc.yaml
# declares headline.json as metrics and plots/<codec>.csv as plots (docs/evaluation.md).
rule evaluate_headline:
    conda:
        CONDA_ENV
    input:
        summary=f"{HEADLINE_TABLES}/summary.csv",
        bd=f"{HEADLINE_TABLES}/bd.csv",
        levels=f"{HEADLINE_TABLES}/levels.json",
        claims=headline_claims(),
    output:
        metrics="results/metrics/headline.json",
        plots=directory("results/metrics/plots"),
    params:
        tables=lambda w, input: os.path.dirname(input.summary),
        judge=EVALUATE.get("judge") or EVALUATE["classifiers"][0],
    log:
        "results/logs/evaluate/headline.log",
    shell:
        "python -m coarse2fine.evaluate.headline --tables {params.tables} --judge {params.judge} --claims {input.claims}"
        " --metrics {output.metrics} --plots {output.plots} > {log} 2>&1"


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
        judge=EVALUATE.get("judge") or EVALUATE["classifiers"][0],
        thresholds=" ".join(str(t) for t in EVALUATE["receiver"]["thresholds"]),
        output_dir=lambda w, output: os.path.dirname(output.csv),
    log:
        "results/logs/evaluate/receiver_{hierarchy}.log",
    shell:
        "python -m coarse2fine.evaluate.receiver --per-image {input.per_image} --judge {params.judge}"
        " --thresholds {params.thresholds} --output-dir {params.output_dir} > {log} 2>&1"


def evaluate_targets():
    return ["results/metrics/headline.json"] + [f"results/metrics/tables/{h}/receiver/receiver.md" for h in evaluate_hierarchies()] + [
        f"results/metrics/tables/{h}/{f}"
        for h in evaluate_hierarchies()
        for f in ("per_image.csv", "summary.csv", "summary.md", "bd.csv", "bd.md", "progressive_check.md")
        + (("cpips_check.json", "cpips_check.md") if cpips_checkpoint() else ())
    ] + claim_targets()
