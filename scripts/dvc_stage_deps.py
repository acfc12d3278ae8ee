"""Each DVC stage's code dependencies: what its jobs run, and nothing else.

A stage (dvc.yaml) runs one Snakemake target; Snakemake decides which of its jobs rerun. DVC only
decides whether to start the stage at all, from its deps. With every stage depending on all of
src/, any edit started all six; here each stage depends on

- the Snakefile, workflow/rules/common.smk and shipped.smk (they build every stage's DAG) and the
  rule files of its own jobs (STAGE_RULES);
- the package modules its jobs import: the import closure of each `python -m coarse2fine.<pkg>`
  its rule files call, and of coarse2fine.plan (which the Snakefile imports to build the DAG),
  followed through `import`, `from ... import`, the "coarse2fine.x.y:function" strings the
  command tables name, and the whole of a package whose __init__ loads its names on first use;
  a subpackage whose every module is reached is listed as its folder.

    python scripts/dvc_stage_deps.py            # print each stage's deps
    python scripts/dvc_stage_deps.py --check    # exit 1 naming each stage whose dvc.yaml deps differ
    python scripts/dvc_stage_deps.py --write    # rewrite the `deps:` line of each stage in dvc.yaml

Each stage's deps in dvc.yaml are one block list; --write replaces those lines only, so the
file's comments stay. tests/test_dvc_stages.py runs --check.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = SRC / "coarse2fine"
# the rule files whose jobs each stage runs (the Snakefile's stage_<name> targets)
STAGE_RULES = {
    "data": ["data.smk"],
    "hierarchy": ["hierarchy.smk"],
    "training": ["training.smk", "baselines.smk"],
    "coding": ["coding.smk"],
    "evaluate": ["evaluate.smk"],
    "figures": ["figures.smk"],
}
# read by every stage: the DAG, its shared helpers, the shipped models' rule
COMMON = ["Snakefile", "workflow/rules/common.smk", "workflow/rules/shipped.smk"]
# what else a stage reads besides code (data it takes from upstream stages, config, the shipped
# models' provenance, which changes with the model it records)
INPUTS = {
    "data": ["requirements-photos.txt"],
    "hierarchy": [],
    "training": [
        "data",
        "results/hierarchy",
        "models/base/c2f/provenance.json",
        "models/adapted/c2f/provenance.json",
        "models/baselines/deephq/provenance.json",
        "models/baselines/rmpgc/provenance.json",
    ],
    "coding": ["data", "results/checkpoints"],
    "evaluate": ["data", "results/hierarchy", "results/checkpoints", "results/bitstreams"],
    "figures": ["results/metrics", "results/hierarchy", "results/checkpoints"],
}
MODULE_NAME = re.compile(r"\bcoarse2fine(?:\.\w+)+")


def module_file(module: str) -> Path | None:
    path = SRC.joinpath(*module.split("."))
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    if path.with_suffix(".py").exists():
        return path.with_suffix(".py")
    return None


def _imported(path: Path) -> set[str]:
    """The coarse2fine modules a file names: imports (relative ones resolved) and module strings."""
    package = list(path.relative_to(SRC).parent.parts)
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            names |= {base} | {f"{base}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names |= set(MODULE_NAME.findall(node.value))
    if path.name == "__init__.py" and "import_module" in path.read_text():
        # a package that loads its names on first use (models/__init__.py: PEP 562): all of it
        names |= {".".join(p.relative_to(SRC).with_suffix("").parts) for p in path.parent.rglob("*.py")}
    return {n.removesuffix(".__init__") for n in names if n.startswith("coarse2fine")}


def closure(roots: list[str]) -> set[Path]:
    """Every package file importing `roots` runs, parents' __init__ included."""
    seen: set[str] = set()
    files: set[Path] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        path = module_file(module)
        if path is None or module in seen:
            continue
        seen.add(module)
        files.add(path)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += _imported(path)
    return files


def _cover(files: set[Path]) -> list[str]:
    """The files as dvc.yaml lists them: a folder where every module below it is reached."""

    def covered(folder: Path) -> bool:
        return all(p in files for p in folder.rglob("*.py"))

    out = set()
    for path in files:
        folder = path.parent
        while folder != PACKAGE and covered(folder.parent) and folder.parent != PACKAGE:
            folder = folder.parent
        out.add(str((folder if folder != PACKAGE and covered(folder) else path).relative_to(REPO)))
    return sorted(out)


def stage_commands(stage: str) -> list[str]:
    text = "".join((REPO / "workflow" / "rules" / name).read_text() for name in STAGE_RULES[stage])
    return sorted(set(re.findall(r"-m (coarse2fine\.\w+)", text)))


def stage_deps(stage: str) -> list[str]:
    roots = ["coarse2fine.plan"]
    for command in stage_commands(stage):
        roots += [command, f"{command}.__main__"]
    rules = [f"workflow/rules/{name}" for name in STAGE_RULES[stage]]
    schemas = sorted(str(p.relative_to(REPO)) for p in (PACKAGE / "schemas").glob("*.yaml"))
    return COMMON + rules + _cover(closure(roots)) + schemas + ["config"] + INPUTS[stage]


def _deps_block(deps: list[str]) -> list[str]:
    return ["    deps:"] + [f"      - {dep}" for dep in deps]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true")
    action.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    dvc_yaml = REPO / "dvc.yaml"
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    missing = sorted(set(STAGE_RULES) ^ set(stages))
    if missing:
        print(f"dvc_stage_deps: stages differ between dvc.yaml and STAGE_RULES: {', '.join(missing)}", file=sys.stderr)
        return 1
    if args.check:
        wrong = [s for s in STAGE_RULES if stages[s]["deps"] != stage_deps(s)]
        for stage in wrong:
            have, want = set(stages[stage]["deps"]), set(stage_deps(stage))
            print(
                f"dvc.yaml stage {stage}: deps differ from what its jobs run (missing: {sorted(want - have)}, "
                f"extra: {sorted(have - want)}); run python scripts/dvc_stage_deps.py --write",
                file=sys.stderr,
            )
        return 1 if wrong else 0
    if args.write:
        lines, out, current = dvc_yaml.read_text().splitlines(), [], None
        i = 0
        while i < len(lines):
            name = re.fullmatch(r"  (\w+):", lines[i])
            current = name.group(1) if name else current
            if current in STAGE_RULES and lines[i].startswith("    deps:"):
                out += _deps_block(stage_deps(current))
                i += 1
                while i < len(lines) and lines[i].startswith("      - "):
                    i += 1
                continue
            out.append(lines[i])
            i += 1
        dvc_yaml.write_text("\n".join(out) + "\n")
        return 0
    for stage in STAGE_RULES:
        print(f"{stage}: {' '.join(stage_deps(stage))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
