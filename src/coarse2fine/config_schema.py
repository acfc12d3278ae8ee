"""Where the study's settings are declared: the workflow's config schema, the one place a
setting's default lives (config/README.md is written from it). The schemas are package data
(coarse2fine/schemas/), so an installed package finds them as a checkout does; the workflow
validates its config against the same files. Snakemake fills a config from
it; `schema_default` gives the same defaults to code that runs without a config, such as a
training job's settings (training/settings.py), so no default is written twice."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import yaml

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
CONFIG_SCHEMA = SCHEMA_DIR / "config.schema.yaml"
HIERARCHY_SCHEMA = SCHEMA_DIR / "hierarchy.schema.yaml"


@cache
def _config_schema() -> dict:
    with open(CONFIG_SCHEMA, encoding="utf-8") as f:
        return yaml.safe_load(f)


def schema_default(path: str):
    """The default the config schema declares for a setting, by its dotted path; `*` stands for
    any key of a mapping (`codecs.*.task_gradient`: the default of every codec entry's key).
    A copy, so a caller may change it. KeyError names a path that has no default."""
    node = _config_schema()
    for key in path.split("."):
        node = node.get("additionalProperties") if key == "*" else node.get("properties", {}).get(key)
        if not isinstance(node, dict):
            raise KeyError(f"{path}: no such setting in {CONFIG_SCHEMA.name}")
    if "default" not in node:
        raise KeyError(f"{path}: {CONFIG_SCHEMA.name} declares no default for it")
    return copy.deepcopy(node["default"])
