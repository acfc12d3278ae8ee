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


def imports(path: Path):
    """(line, imported unit) of every import of the package in a module, at any depth."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("coarse2fine."):
            yield node.lineno, node.module.split(".")[1]


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
