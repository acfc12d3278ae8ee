# Semantic hierarchies over the ImageNet classes, driven by config/hierarchy.yaml: one job per
# hierarchy (its own settings as a param, so editing one entry reruns that entry and the
# agreement table only), one embedding cache per embedder settings, one Wu-Palmer matrix.
import re
from pathlib import Path

from coarse2fine.hierarchy.config import build_settings, load_config, resolve_path
from coarse2fine.hierarchy.embedders import embedder_settings, embedding_key
from coarse2fine.hierarchy.methods import uses_embeddings

HIERARCHY_RULES_DIR = Path(workflow.current_basedir.get_path_or_uri(secret_free=True))
HIERARCHY_SCHEMA = str(HIERARCHY_RULES_DIR.parent / "schemas" / "hierarchy.schema.yaml")


if "HIERARCHY_CONFIG" not in globals():
    # config/hierarchy.yaml, schema-validated (defaults filled) and checked; errors name the problem
    HIERARCHY_CONFIG = load_config(config["hierarchy"]["config"], HIERARCHY_SCHEMA)
_ENABLE = set(config["hierarchy"].get("enable", []))
if _ENABLE - {h["name"] for h in HIERARCHY_CONFIG["hierarchies"]}:
    raise ValueError(f"hierarchy.enable names {sorted(_ENABLE - {h['name'] for h in HIERARCHY_CONFIG['hierarchies']})}, "
                     f"which {config['hierarchy']['config']} does not define")
HIERARCHIES = {h["name"]: h for h in HIERARCHY_CONFIG["hierarchies"] if h["enabled"] or h["name"] in _ENABLE}
# Embedding caches that the enabled hierarchies need, by file stem (embedder + settings hash).
HIERARCHY_EMBEDDINGS = {
    embedding_key(embedder_settings(h)): embedder_settings(h)
    for h in HIERARCHIES.values() if uses_embeddings(h["method"])
}


def _alternatives(names):
    return "|".join(re.escape(n) for n in names) or "(?!)"


def hierarchy_dir(name):
    return f"results/hierarchy/{name}"


def hierarchy_build_inputs(wildcards):
    spec = HIERARCHIES[wildcards.hierarchy]
    inputs = {"wup": "results/hierarchy/wup_similarity.npy"}
    if uses_embeddings(spec["method"]):
        inputs["embeddings"] = f"results/hierarchy/embeddings/{embedding_key(embedder_settings(spec))}.npz"
    if spec["method"] == "file":
        inputs["files"] = [str(resolve_path(p)) for p in spec["paths"]]
    return inputs


rule hierarchy_wup_similarity:
    conda:
        CONDA_ENV
    output:
        "results/hierarchy/wup_similarity.npy",
    log:
        "results/logs/hierarchy/wup_similarity.log",
    # Ahead of the training chain (priority 10): the fine-tunes need the hierarchies.
    priority: 20
    shell:
        "python -m coarse2fine.hierarchy wup --output {output} > {log} 2>&1"


rule hierarchy_embed:
    conda:
        CONDA_ENV
    output:
        "results/hierarchy/embeddings/{embedding}.npz",
    params:
        settings=lambda w: as_json(HIERARCHY_EMBEDDINGS[w.embedding]),
    log:
        "results/logs/hierarchy/embed_{embedding}.log",
    threads: 1  # small jobs; on one thread they run beside the training warm-up
    wildcard_constraints:
        embedding=_alternatives(HIERARCHY_EMBEDDINGS),
    # Ahead of the training chain (priority 10): the fine-tunes need the hierarchies.
    priority: 20
    shell:
        # Offline first: a CLIP download that cannot happen fails at once (HF_HUB_OFFLINE=0 to allow it).
        "HF_HUB_OFFLINE=${{HF_HUB_OFFLINE:-1}} python -m coarse2fine.hierarchy --threads {threads} embed "
        "--settings {params.settings:q} --output {output} > {log} 2>&1"


rule hierarchy_build:
    conda:
        CONDA_ENV
    input:
        unpack(hierarchy_build_inputs),
    output:
        assignments="results/hierarchy/{hierarchy}/assignments.csv",
        summary="results/hierarchy/{hierarchy}/summary.json",
        table="results/hierarchy/{hierarchy}/summary.md",
        clusters="results/hierarchy/{hierarchy}/clusters.md",
    params:
        settings=lambda w: as_json(build_settings(HIERARCHIES[w.hierarchy])),
        embeddings=lambda w, input: f"--embeddings {input.embeddings}" if "embeddings" in input.keys() else "",
        output_dir=lambda w: hierarchy_dir(w.hierarchy),
    log:
        "results/logs/hierarchy/build_{hierarchy}.log",
    threads: 1  # small jobs; on one thread they run beside the training warm-up
    wildcard_constraints:
        hierarchy=_alternatives(HIERARCHIES),
    # Ahead of the training chain (priority 10): the fine-tunes need the hierarchies.
    priority: 20
    shell:
        "python -m coarse2fine.hierarchy --threads {threads} build --settings {params.settings:q} "
        "--wup {input.wup} {params.embeddings} --output-dir {params.output_dir} > {log} 2>&1"


rule hierarchy_agreement:
    conda:
        CONDA_ENV
    input:
        assignments=[f"{hierarchy_dir(n)}/assignments.csv" for n in HIERARCHIES],
        summaries=[f"{hierarchy_dir(n)}/summary.json" for n in HIERARCHIES],
    output:
        csv="results/hierarchy/agreement.csv",
        md="results/hierarchy/agreement.md",
    log:
        "results/logs/hierarchy/agreement.log",
    shell:
        "python -m coarse2fine.hierarchy agreement --assignments {input.assignments} "
        "--output-csv {output.csv} --output-md {output.md} > {log} 2>&1"


rule hierarchy_figure:
    conda:
        CONDA_ENV
    input:
        agreement="results/hierarchy/agreement.csv",
        assignments=[f"{hierarchy_dir(n)}/assignments.csv" for n in HIERARCHIES],
    output:
        png="results/hierarchy/hierarchy_overview.png",
        pdf="results/hierarchy/hierarchy_overview.pdf",
    log:
        "results/logs/hierarchy/figure.log",
    shell:
        "python -m coarse2fine.figures.hierarchy --agreement {input.agreement} "
        "--assignments {input.assignments} --output {output.png} {output.pdf} > {log} 2>&1"


def hierarchy_targets():
    """Final files of the hierarchy stage: every enabled hierarchy, the agreement table, the figure."""
    targets = []
    for name in HIERARCHIES:
        targets += [f"{hierarchy_dir(name)}/{f}" for f in ("assignments.csv", "summary.json", "summary.md", "clusters.md")]
    return targets + ["results/hierarchy/agreement.csv", "results/hierarchy/agreement.md",
                      "results/hierarchy/hierarchy_overview.png", "results/hierarchy/hierarchy_overview.pdf"]
