"""The packages import only from the layers below them (docs/packages.md, "Which way imports
go"): no import cycle between packages, and no import delayed into a function to hide one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "src" / "coarse2fine"


def documented_layers() -> dict[str, int]:
    text = (REPO / "docs" / "packages.md").read_text()
    section = text.split("## Which way imports go", 1)[1]
    layers = {}
    for number, line in re.findall(r"^(\d+)\. (.*)$", section, flags=re.M):
        for name in re.findall(r"`(\w+)`", line.split("(")[0]):
            layers[name] = int(number)
    return layers


def unit_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def imports(path: Path, text: str | None = None):
    """(line, imported unit) of every import of the package in a module, at any depth and in
    every form: `from coarse2fine.x import y`, `from coarse2fine import x`, `import
    coarse2fine.x`, and relative imports (`from . import x`, `from ..x import y`)."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "coarse2fine" and len(parts) > 1:
                    yield node.lineno, parts[1]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's own package
                if node.level - 1 > len(package):
                    continue  # above the package: not one of its modules
                base = package[: len(package) - (node.level - 1)]
                parts = base + (node.module.split(".") if node.module else [])
            elif (node.module or "").split(".")[0] == "coarse2fine":
                parts = node.module.split(".")[1:]
            else:
                continue
            if parts:
                yield node.lineno, parts[0]
            else:  # `from coarse2fine import x` or `from .. import x` at the top: each module named
                for alias in node.names:
                    if (PACKAGE / alias.name).is_dir() or (PACKAGE / f"{alias.name}.py").is_file():
                        yield node.lineno, alias.name


def test_every_import_goes_down_the_documented_layers():
    layers = documented_layers()
    units = {unit_of(p) for p in PACKAGE.rglob("*.py")} - {"__init__", "resources"}
    assert units <= set(layers), f"not in docs/packages.md's layers: {sorted(units - set(layers))}"
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix() == "__init__.py":
            continue
        source = unit_of(path)
        for line, target in imports(path):
            if target != source and layers[target] >= layers[source]:
                wrong.append(
                    f"{path.relative_to(REPO)}:{line}: {source} (layer {layers[source]}) imports "
                    f"{target} (layer {layers[target]})"
                )
    assert not wrong, "\n".join(wrong)


def test_every_import_form_is_read():
    text = """
import coarse2fine.coding.codec_io
from coarse2fine import rans, __version__
from coarse2fine.models import build_codec
from . import summary
from .. import figures
from ..classify.names import CLASSIFIER_NAMES
def late():
    from ...coarse2fine_elsewhere import nothing  # beyond the package: not ours, not read
"""
    found = [unit for _, unit in imports(PACKAGE / "evaluate" / "module.py", text)]
    assert found == ["coding", "rans", "models", "evaluate", "figures", "classify"], found


def test_the_evaluation_goes_views_then_tables_then_reports():
    """Inside evaluate/, the data's journey: a sub-package imports only from those before it."""
    order = {"views": 1, "tables": 2, "reports": 3}
    root = PACKAGE / "evaluate"
    wrong = []
    for path in sorted(root.rglob("*.py")):
        here = path.relative_to(root).parts[0]
        if here not in order:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("coarse2fine.evaluate."):
                there = node.module.split(".")[2]
                if order.get(there, 0) > order[here]:
                    wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {node.module}")
    assert not wrong, wrong
    assert set(order) <= {p.name for p in root.iterdir() if p.is_dir()}


def test_no_two_modules_of_the_evaluation_and_its_figures_share_a_name():
    names = {}
    for package in ("evaluate", "figures"):
        for path in (PACKAGE / package).rglob("*.py"):
            if path.name not in ("__init__.py", "__main__.py"):
                names.setdefault(path.name, []).append(str(path.relative_to(PACKAGE)))
    names.setdefault("receiver.py", []).append("receiver.py")
    assert not {name: paths for name, paths in names.items() if len(paths) > 1}


def test_no_function_of_the_package_runs_past_sixty_lines():
    """A function a reader takes in at once (the house rule; split along what it does)."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(
                    f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
                )
    assert not long, long
