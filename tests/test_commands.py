"""One command shape (coarse2fine/commands.py): every stage's commands resolve to a module with
`add_arguments` and `run_command`, every rule calls one of them, and the runner names what is
wrong."""

from __future__ import annotations

import importlib
import re

import pytest
import yaml

from coarse2fine.commands import run_stage
from coarse2fine.plan import STAGES
from conftest import REPO

STAGE_PACKAGES = ("data", "hierarchy", "training", "coding", "evaluate", "figures")


def stage_commands(stage: str) -> dict:
    return importlib.import_module(f"coarse2fine.{stage}.__main__").COMMANDS


@pytest.mark.parametrize("stage", STAGE_PACKAGES)
def test_every_command_has_its_two_functions(stage):
    for name, command in stage_commands(stage).items():
        assert callable(command.arguments_function()), (stage, name)
        assert callable(command.run_function()), (stage, name)


@pytest.mark.parametrize("stage", STAGE_PACKAGES)
def test_a_stage_runs_only_its_own_packages_commands(stage):
    """`python -m coarse2fine.<stage> X` runs code of that stage's package: no stage reaches into
    another's (the hierarchy overview is drawn by `python -m coarse2fine.figures hierarchy`)."""
    for name, command in stage_commands(stage).items():
        for target in (command.add_arguments, command.run):
            assert target.startswith(f"coarse2fine.{stage}."), (stage, name, target)


def test_every_rule_calls_a_stage_command_and_the_stages_match_dvc():
    rules = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    called = set(re.findall(r"python -m coarse2fine\.(\w+) ([\w-]+)", rules))
    called |= {("training", "train")} if "{params.launcher} train" in rules else set()
    assert called, "no rule calls a stage command"
    for stage, name in called:
        assert name in stage_commands(stage), f"rules call `python -m coarse2fine.{stage} {name}`, which does not exist"
    assert not re.search(r"python -m coarse2fine\.\w+\.\w+", rules), "a rule calls a module instead of a stage command"
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    assert list(dvc["stages"]) == list(STAGES)
    assert all(f"stage_{name} " in spec["cmd"] for name, spec in dvc["stages"].items())


def test_the_tool_and_the_stages_share_one_command_shape():
    from coarse2fine.cli import COMMANDS as TOOL_COMMANDS
    from coarse2fine.commands import Command

    every = list(TOOL_COMMANDS.values()) + [c for s in STAGE_PACKAGES for c in stage_commands(s).values()]
    assert all(type(c) is Command for c in every)
    assert all(callable(c.arguments_function()) and callable(c.run_function()) for c in TOOL_COMMANDS.values())


def test_the_runner_names_an_unknown_command_and_shows_help(capsys):
    with pytest.raises(SystemExit) as exc:
        run_stage("evaluate", stage_commands("evaluate"), ["nope"])
    assert exc.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run_stage("evaluate", stage_commands("evaluate"), ["tables", "--help"])
    assert exc.value.code == 0 and "--hierarchy" in capsys.readouterr().out
