"""The study's configuration as Snakemake reads it, for code that runs without Snakemake."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from coarse2fine.config_schema import CONFIG_SCHEMA, HIERARCHY_SCHEMA


def as_json(value) -> str:
    """A job's settings as a rule param: canonical JSON, so a change to these settings reruns
    exactly the jobs that use them (typed settings as their every field)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return json.dumps(value, sort_keys=True)


def load_study_config(*paths: str | Path) -> dict:
    """The config files merged in order, as `--configfile a b` merges them, and validated against
    the schema with its defaults filled (what the Snakefile's `config` holds)."""
    from snakemake.utils import update_config, validate

    config: dict = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            update_config(config, yaml.safe_load(f) or {})
    validate(config, str(CONFIG_SCHEMA))
    return config


def load_hierarchy_config(path: str | Path) -> dict:
    """The hierarchy config file, schema-validated (defaults filled) and checked."""
    from coarse2fine.hierarchy.config import load_config

    return load_config(path, HIERARCHY_SCHEMA)
