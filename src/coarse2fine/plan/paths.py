"""Where every file of the study lives, spelled once: the templates that the rule files give
Snakemake as inputs, outputs, logs and benchmarks, and that the plan fills with names.

Each function's arguments default to the Snakemake wildcard of the same name. Called bare, a
function is a rule's template (`checkpoint()` is "results/checkpoints/{model}/model.pt"); called
with names, it is one file (`checkpoint("base/c2f")`); a name may itself hold wildcards
(`checkpoint(base_id("adapt"))` is "results/checkpoints/adapt/{base}/model.pt"). A model's
folder in each stage is its id (`Model.id`): <codec>/<hierarchy>/rp<N>, <codec>/rp<N>, a baseline
job, or base/<codec>. The views and tables of a confirmation (results/confirm/<name>/) have the
study's layout under another root, hence the `root` arguments. In the order the data travels;
plain strings, so the plan and the rules import this without Snakemake or torch. No rule file
spells a path itself (tests/test_paths.py).
"""

from __future__ import annotations

from coarse2fine.evaluate.views.view_files import CPIPS_FILE, REFERENCE_CODEC, VIEW_FILES

RESULTS = "results"
# the models that come with the repository (DVC-tracked; models/<kind>/<name>/)
MODELS = "models"


# -- data: the photos' manifests ---------------------------------------------------------------
def dataset_dir(dataset: str = "{dataset}") -> str:
    return f"data/{dataset}"


def manifest(dataset: str = "{dataset}") -> str:
    return f"{dataset_dir(dataset)}/manifest.csv"


def dataset_info(dataset: str = "{dataset}") -> str:
    return f"{dataset_dir(dataset)}/dataset.json"


# -- hierarchy ---------------------------------------------------------------------------------
CLASS_LIST = f"{RESULTS}/classes/imagenet1k_classes.csv"
HIERARCHIES = f"{RESULTS}/hierarchy"
WUP_SIMILARITY = f"{HIERARCHIES}/wup_similarity.npy"
# stems: the agreement table as .csv and .md, the hierarchies' overview figure as .png and .pdf
AGREEMENT = f"{HIERARCHIES}/agreement"
HIERARCHY_OVERVIEW = f"{HIERARCHIES}/hierarchy_overview"


def embeddings(embedding: str = "{embedding}") -> str:
    return f"{HIERARCHIES}/embeddings/{embedding}.npz"


def hierarchy_dir(hierarchy: str = "{hierarchy}") -> str:
    return f"{HIERARCHIES}/{hierarchy}"


def hierarchy_files(hierarchy: str = "{hierarchy}") -> dict[str, str]:
    """What building one hierarchy writes, by the names its rule gives them."""
    folder = hierarchy_dir(hierarchy)
    return {
        "assignments": f"{folder}/assignments.csv",
        "summary": f"{folder}/summary.json",
        "table": f"{folder}/summary.md",
        "clusters": f"{folder}/clusters.md",
    }


def assignments(hierarchy: str = "{hierarchy}") -> str:
    return hierarchy_files(hierarchy)["assignments"]


# -- training: checkpoints ---------------------------------------------------------------------
CHECKPOINTS = f"{RESULTS}/checkpoints"


def base_id(stage: str, base: str = "{base}") -> str:
    """A base's checkpoint folder (a model id): `pretrain` (trained here), `base` (the one the
    study uses: shipped or pretrained), `adapt` (moved to the operating point here), `adapted`
    (the one in use); the shipped ones lie under the same names in models/."""
    return f"{stage}/{base}"


def finetune_id(codec: str = "{codec}", hierarchy: str | None = "{hierarchy}", rp: int | str = "{rp}") -> str:
    """A fine-tune's model id: one per (codec, hierarchy, rate point), or per (codec, rate point)
    for a codec whose loss reads no hierarchy (hierarchy None)."""
    return f"{codec}/{hierarchy}/rp{rp}" if hierarchy else f"{codec}/rp{rp}"


def model_files(folder: str) -> dict[str, str]:
    """A trained model's weights and training log, in its checkpoint or shipped folder."""
    return {"model": f"{folder}/model.pt", "log": f"{folder}/log.csv"}


def checkpoint_dir(model: str = "{model}") -> str:
    return f"{CHECKPOINTS}/{model}"


def checkpoint_files(model: str = "{model}") -> dict[str, str]:
    return model_files(checkpoint_dir(model))


def checkpoint(model: str = "{model}") -> str:
    return checkpoint_files(model)["model"]


def training_log(model: str = "{model}") -> str:
    return checkpoint_files(model)["log"]


def shipped_dir(shipped: str = "{shipped}") -> str:
    return f"{MODELS}/{shipped}"


def shipped_model(shipped: str = "{shipped}") -> str:
    return model_files(shipped_dir(shipped))["model"]


def shipped_dvc_file(shipped: str = "{shipped}") -> str:
    """What DVC tracks a shipped model by (what `git pull` brings when the model changes)."""
    return f"{shipped_model(shipped)}.dvc"


def shipped_provenance(shipped: str = "{shipped}") -> str:
    return f"{shipped_dir(shipped)}/provenance.json"


# -- coding: the bitstreams --------------------------------------------------------------------
def bitstream_dir(model: str = "{model}") -> str:
    return f"{RESULTS}/bitstreams/{model}"


def sizes(model: str = "{model}") -> str:
    return f"{bitstream_dir(model)}/sizes.csv"


def streams(model: str = "{model}") -> str:
    return f"{bitstream_dir(model)}/streams"


def roundtrip(model: str = "{model}") -> str:
    return f"{bitstream_dir(model)}/roundtrip.json"


def decoded(model: str = "{model}") -> str:
    return f"{bitstream_dir(model)}/decoded"


# -- evaluation: views (each decoded view measured and classified) -----------------------------
METRICS = f"{RESULTS}/metrics"


def anchor_views_dir(anchor: str = "{anchor}", root: str = METRICS) -> str:
    return f"{root}/views/anchor/{anchor}"


def reference_views_dir(root: str = METRICS) -> str:
    return anchor_views_dir(REFERENCE_CODEC, root)


def learned_views_dir(model: str = "{model}", root: str = METRICS) -> str:
    return f"{root}/views/learned/{model}"


def view_files(folder: str) -> dict[str, str]:
    """A view folder's files, by their stems (views, logits, classifiers)."""
    return {name.split(".")[0]: f"{folder}/{name}" for name in VIEW_FILES}


def recon_dir(folder: str) -> str:
    """The evaluation crops a views job saves beside its tables (the reconstruction figures)."""
    return f"{folder}/recon"


def anchor_cpips(anchor: str = "{anchor}") -> str:
    return f"{anchor_views_dir(anchor)}/{CPIPS_FILE}"


# -- evaluation: tables, claims, receiver, headline --------------------------------------------
# in git (dvc.yaml: cache: false): the headline numbers and the rate-accuracy points
HEADLINE_METRICS = "metrics/headline.json"
HEADLINE_PLOTS = "metrics/plots"
# the headline's details, with the cached tables
HEADLINE_DETAILS = f"{METRICS}/details.json"


def tables_dir(hierarchy: str = "{hierarchy}", root: str = METRICS) -> str:
    return f"{root}/tables/{hierarchy}"


def table(name: str, hierarchy: str = "{hierarchy}", root: str = METRICS) -> str:
    return f"{tables_dir(hierarchy, root)}/{name}"


def claim_file(name: str, hierarchy: str = "{hierarchy}", method: str = "{method}", root: str = METRICS) -> str:
    return table(f"claim/{method}/{name}", hierarchy, root)


def receiver_file(name: str, hierarchy: str = "{hierarchy}") -> str:
    return table(f"receiver/{name}", hierarchy)


# -- figures -----------------------------------------------------------------------------------
FIGURES = f"{RESULTS}/figures"
# the report's copy of the hierarchies' overview, and its opening page (figures/overview.py)
REPORT_HIERARCHY_OVERVIEW = f"{FIGURES}/hierarchy_overview.png"
REPORT_OVERVIEW = f"{FIGURES}/report_overview.rst"


def figures_dir(hierarchy: str = "{hierarchy}") -> str:
    return f"{FIGURES}/{hierarchy}"


def figure(name: str, hierarchy: str = "{hierarchy}") -> str:
    return f"{figures_dir(hierarchy)}/{name}"


# -- the confirmation on a folder of labelled photos -------------------------------------------
def confirm_dataset(name: str = "{name}") -> str:
    """The photos' dataset name: their manifest is data/confirm/<name>/."""
    return f"confirm/{name}"


def confirm_dir(name: str = "{name}") -> str:
    """The root of a confirmation's views and tables (the study's layout, under its own name)."""
    return f"{RESULTS}/confirm/{name}"


# -- every job's log and benchmark -------------------------------------------------------------
def log(stage: str, job: str) -> str:
    return f"{RESULTS}/logs/{stage}/{job}.log"


def benchmark(stage: str, job: str) -> str:
    return f"{RESULTS}/benchmarks/{stage}/{job}.tsv"
