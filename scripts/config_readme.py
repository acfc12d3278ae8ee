"""Write config/README.md from the schemas: every setting of the pipeline, the hierarchy file
and each codec architecture, with its type, default and description.

    python scripts/config_readme.py > config/README.md

The schemas are the one source of truth (src/coarse2fine/schemas/*.schema.yaml, checked at start-up;
coarse2fine.architectures for the `architecture` objects); tests/test_user_commands.py checks
that config/README.md is what this script writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from coarse2fine.architectures import BACKBONE_OPTIONS, CODEC_PROPERTIES  # noqa: E402
from coarse2fine.config_schema import CONFIG_SCHEMA, HIERARCHY_SCHEMA  # noqa: E402

HEADER = """# Configuration

Generated from the schemas by `python scripts/config_readme.py > config/README.md`; do not edit
by hand (a test checks it is current). Every key is validated when the workflow starts: an
unknown or mistyped key, or a value of the wrong type or range, stops the run with a message
that names it.

## The files

| file | what it is | how it is used |
|---|---|---|
| `config.yaml` | the embedded default: 2 CPU cores, the sample photos, the paper's released hierarchy | `snakemake --cores all` (always loaded) |
| `test.yaml` | a tiny run of the whole DAG in minutes (CI, tests) | `--configfile config/config.yaml config/test.yaml` |
| `imagenet.yaml` | the paper's setting: ImageNet, TIC N=192/M=320, 256 px view | `--configfile config/config.yaml config/imagenet.yaml` |
| `diagnostics.yaml` | enables the diagnostic c2f variants at one rate point | `--configfile config/config.yaml config/diagnostics.yaml` |
| `clip.yaml` | trains on the hierarchy rebuilt from CLIP text embeddings (network once) | `HF_HUB_OFFLINE=0 snakemake --cores all --configfile config/config.yaml config/clip.yaml` |
| `operating-point.yaml` | rd_only retrained at raised level-1 lambdas, each coarse prefix scored (docs/operating-point.md) | `--configfile config/config.yaml config/operating-point.yaml` |
| `preregistered.yaml` | the pre-registered confirmation run: both recipes and their ablation over five seeds (docs/preregistration.md) | `--configfile config/config.yaml config/preregistered.yaml` |
| `seeds.yaml` | c2f and rd_only with two more seeds at the middle rate point | `--configfile config/config.yaml config/seeds.yaml` |
| `snapshots.yaml` | every training job also writes its weights every 25 steps (`train.snapshot_every`), for the probe of docs/results.md section 3 | `--configfile config/config.yaml config/snapshots.yaml` |
| `train-baselines.yaml` | retrains the shipped baselines (DeepHQ's chain, RMPGC) instead of installing them | `--configfile config/config.yaml config/train-baselines.yaml` |
| `rmpgc-paper.yaml` | RMPGC with its paper's loss scaling (running means), lambda_SFM = 10 and two entropy models (docs/rmpgc.md) | `--configfile config/config.yaml config/rmpgc-paper.yaml` |
| `rmpgc-paper-vh.yaml` | RMPGC as its paper's section V-H case (B) states it (docs/rmpgc.md) | `--configfile config/config.yaml config/rmpgc-paper-vh.yaml` |
| `hierarchy.yaml` | the hierarchies to build, keyed by name (`hierarchy.config` names it) | edit an entry: that hierarchy alone is rebuilt |
| `hierarchy-test.yaml` | the hierarchies of `test.yaml` | |
| `hierarchy-imagenet.yaml` | the hierarchies of `imagenet.yaml` (CLIP embeddings at paper scale) | |

An overlay is merged over `config.yaml` key by key. With DVC, `params.yaml` names the overlay
(`dvc exp run -S configfile=config/test.yaml`) and both `config.yaml` and `hierarchy.yaml` are
params (`dvc exp run -S 'config/config.yaml:train.steps=600'`,
`dvc exp run -S 'config/hierarchy.yaml:hierarchies.wordnet_depth.wordnet_cut=depth'`).

## Lint

`snakemake --lint` reports one kind of finding that stays, for a reason: "Environment variable
PATH / PYTHONPATH used but not asserted" (the workflow sets them for its jobs, the environment's
interpreter and `src/`, and requires neither of the user). Any other finding fails the tests.
"""


def type_of(spec: dict) -> str:
    if "enum" in spec:
        return " \\| ".join(json.dumps(v) for v in spec["enum"])
    if "const" in spec:
        return json.dumps(spec["const"])
    kind = spec.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and isinstance(spec.get("items"), dict):
        kind = f"array of {type_of(spec['items'])}"
    bounds = [
        f"{op} {spec[key]}"
        for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="))
        if key in spec
    ]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def rows(properties: dict, prefix: str = "", required=()) -> list[str]:
    out = []
    for name, spec in properties.items():
        key = f"{prefix}{name}"
        default = "required" if name in required else (json.dumps(spec["default"]) if "default" in spec else "")
        description = " ".join(str(spec.get("description", "")).split())
        out.append(f"| `{key}` | {type_of(spec)} | {default} | {description} |".replace("\n", " "))
        if spec.get("type") == "object" and "properties" in spec:
            out += rows(spec["properties"], f"{key}.", spec.get("required", ()))
        extra = spec.get("additionalProperties")
        if isinstance(extra, dict) and "properties" in extra:
            out += rows(extra["properties"], f"{key}.<name>.", extra.get("required", ()))
        if spec.get("type") == "array" and isinstance(spec.get("items"), dict) and "properties" in spec["items"]:
            out += rows(spec["items"]["properties"], f"{key}[].", spec["items"].get("required", ()))
    return out


def table(properties: dict, required=()) -> str:
    return "\n".join(["| key | type | default | description |", "|---|---|---|---|", *rows(properties, "", required)])


def main() -> None:
    config = yaml.safe_load(CONFIG_SCHEMA.read_text())
    hierarchy = yaml.safe_load(HIERARCHY_SCHEMA.read_text())
    parts = [
        HEADER,
        "## Pipeline settings (config.yaml and its overlays)",
        "",
        table(config["properties"], config.get("required", ())),
        "",
        "## Hierarchy file (hierarchy.yaml)",
        "",
        table(hierarchy["properties"], hierarchy.get("required", ())),
        "",
        "## Codec architectures (`codecs.<name>.architecture`, `baselines.<name>.architecture`)",
        "",
        "The keyword arguments of `coarse2fine.models.build_codec`, by codec `name`; checked at start-up and",
        "when a checkpoint is loaded (`coarse2fine.architectures`).",
        "",
    ]
    for name, properties in CODEC_PROPERTIES.items():
        parts += [f"### `name: {name}`", "", table(properties), ""]
    for name, options in BACKBONE_OPTIONS.items():
        parts += [f"### `backbone_options` of `backbone: {name}`", "", table(options) if options else "none", ""]
    sys.stdout.write("\n".join(parts).rstrip() + "\n")


if __name__ == "__main__":
    main()
