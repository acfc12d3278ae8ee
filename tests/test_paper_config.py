"""config/imagenet.yaml merged over the default gives the paper's study: the values listed in
docs/paper-settings.md ("Effective settings"), nothing inherited from the CPU default."""

from __future__ import annotations

import json
import re

from coarse2fine.plan import load_study_config
from conftest import REPO


def effective_paper_config() -> dict:
    # as the pipeline reads it: merged, validated, the schema's defaults filled
    return load_study_config(REPO / "config" / "config.yaml", REPO / "config" / "imagenet.yaml")


def documented_settings() -> dict:
    text = (REPO / "docs" / "paper-settings.md").read_text()
    section = text.split("## Effective settings of config/imagenet.yaml", 1)[1]
    rows = re.findall(r"^\| ([a-z_.0-9]+) \| (.+) \|$", section, flags=re.M)
    return {key: json.loads(value) for key, value in rows if key != "key"}


def lookup(config: dict, dotted: str):
    for part in dotted.split("."):
        config = config[part]
    return config


def test_the_paper_config_has_the_documented_values():
    documented = documented_settings()
    assert len(documented) >= 15
    config = effective_paper_config()
    wrong = {key: (lookup(config, key), value) for key, value in documented.items() if lookup(config, key) != value}
    assert not wrong, wrong


def test_the_paper_judge_neither_trains_nor_scores_alone():
    config = effective_paper_config()
    assert config["evaluate"]["judge"] != config["train"]["classifier"]
    assert config["evaluate"]["judge"] in config["evaluate"]["classifiers"]
    assert config["figures"]["classifiers"][0] == config["evaluate"]["judge"]
