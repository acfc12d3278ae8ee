"""Every path of the study is spelled once, in coarse2fine/plan/paths.py: the rule files and the
rest of the plan name files through its templates, never by a literal of their own."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from coarse2fine.plan import StudyPlan, paths
from conftest import REPO

# a string that names a file under one of the study's roots (the report's captions, relative to
# workflow/rules/, are not the study's files)
PATH_LITERAL = re.compile(r"(?<![\w.])(results|data|models|metrics)/")


def rule_file_literals(path: Path, text: str | None = None) -> list[str]:
    """file:line of each string in a Snakefile or rule file that spells a path (comments aside)."""
    text = path.read_text() if text is None else text
    return [
        f"{path.name}:{token.start[0]}: {token.string}"
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.STRING and PATH_LITERAL.search(token.string)
    ]


def module_literals(path: Path, text: str | None = None) -> list[str]:
    """file:line of each string in a Python module that spells a path (docstrings aside)."""
    tree = ast.parse(path.read_text() if text is None else text)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and PATH_LITERAL.search(node.value)
    ]


def test_no_rule_file_and_no_other_plan_module_spells_a_path():
    rule_files = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
    modules = sorted(p for p in (REPO / "src" / "coarse2fine" / "plan").glob("*.py") if p.name != "paths.py")
    found = [hit for p in rule_files for hit in rule_file_literals(p)]
    found += [hit for p in modules for hit in module_literals(p)]
    assert not found, "paths spelled outside coarse2fine/plan/paths.py:\n" + "\n".join(found)


def test_the_check_finds_a_path_in_a_rule_an_f_string_and_a_module():
    rule = 'rule x:\n    output:\n        "results/x/{a}.csv",  # results/ in a comment is fine\n'
    assert rule_file_literals(Path("x.smk"), rule) == ['x.smk:3: "results/x/{a}.csv"']
    assert rule_file_literals(Path("x.smk"), 'rule x:\n    log:\n        f"{ROOT}/data/{{a}}.log",\n')
    assert not rule_file_literals(
        Path("x.smk"), 'rule x:\n    output:\n        report(paths.figure("a.png"), caption="../report/a.rst"),\n'
    )
    module = '"""Writes results/x."""\n\n\ndef f(m):\n    """Under models/."""\n    return f"models/{m}/model.pt"\n'
    assert module_literals(Path("m.py"), module) == ["m.py:6: 'models/'"]


def test_a_template_filled_with_names_is_the_file_the_plan_names():
    plan = StudyPlan.from_files("config/config.yaml", root=REPO)
    model = plan.training.codec_models()[0]
    # a rule's template (the wildcards), and the same function with names: one spelling for both
    assert paths.checkpoint() == "results/checkpoints/{model}/model.pt"
    assert paths.checkpoint(paths.finetune_id()) == "results/checkpoints/{codec}/{hierarchy}/rp{rp}/model.pt"
    assert paths.checkpoint(model.id) == paths.checkpoint().format(model=model.id) == model.checkpoint
    codec, hierarchy, rp = model.id.split("/")
    assert paths.finetune_id().format(codec=codec, hierarchy=hierarchy, rp=rp[2:]) == model.id
    assert paths.checkpoint(paths.base_id("base")).format(base="c2f") == paths.checkpoint("base/c2f")
    assert plan.confirmation.manifest == paths.manifest().format(dataset="confirm/confirm")
    assert paths.claim_file("claim.md", root=plan.confirmation.root).format(hierarchy="h", method="c2f") == (
        "results/confirm/confirm/tables/h/claim/c2f/claim.md"
    )
