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


def module_of(parts: list[str]) -> str | None:
    """The module a dotted path inside the package names: a .py file, or a package's __init__."""
    path = PACKAGE.joinpath(*parts)
    if path.with_suffix(".py").is_file():
        return ".".join(parts)
    if (path / "__init__.py").is_file():
        return ".".join([*parts, "__init__"])
    return None


def module_imports(path: Path) -> set[str]:
    """The package's modules one module imports, at any depth: `from x import y` counts as an
    import of module x.y where that is a module, else of x (itself or its __init__); importing a
    submodule runs its package's __init__ first, so that counts too."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "coarse2fine"]
            names = [None]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                targets = [base + (node.module.split(".") if node.module else [])]
            elif (node.module or "").split(".")[0] == "coarse2fine":
                targets = [node.module.split(".")[1:]]
            else:
                continue
            names = [a.name for a in node.names]
        else:
            continue
        for parts in targets:
            for name in names:
                module = module_of([*parts, name]) if name else None
                module = module or module_of(parts)
                for depth in range(1, len(parts)):  # the packages on the way, each __init__ run
                    found.add(module_of(parts[:depth]))
                found.add(module)
    own = ".".join([*path.relative_to(PACKAGE).with_suffix("").parts])
    return {m for m in found if m and m != own and m != "__init__"}


def test_no_import_circle_between_any_two_modules():
    """Inside packages too: a circle works only while every module in it happens to import in
    one order (the zoo imports the codecs, the registry imports none of them)."""
    graph = {".".join(p.relative_to(PACKAGE).with_suffix("").parts): module_imports(p) for p in PACKAGE.rglob("*.py")}

    # a package's __init__ is run before any of its modules: an __init__ importing its own
    # modules is the package being assembled, not a circle, so the edge from a module up to its
    # own packages' __init__ is left out
    def ancestors(module: str) -> set[str]:
        parts = module.split(".")
        return {".".join([*parts[:depth], "__init__"]) for depth in range(1, len(parts))}

    graph = {m: {t for t in targets if t not in ancestors(m)} for m, targets in graph.items()}
    circles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                circles.append(" -> ".join(trail[trail.index(target) :] + [target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(circles)


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
    """A function a reader takes in at once (the house rule; split along what it does). Counted
    from the first statement of its body: the formatter writes a long signature one parameter a
    line, which lengthens the file, not what the function does."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            lines = node.end_lineno - node.body[0].lineno + 1
            if lines > 60:
                long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({lines})")
    assert not long, long
