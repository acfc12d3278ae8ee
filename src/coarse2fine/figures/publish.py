"""Publish a run's tables and figures into docs/figures/, each with a header that says which
command, configuration files and commit made it and when; or check that the committed ones are
still what results/ holds (`make docs-figures GROUP=...`, `make check-docs-figures GROUP=...`,
right after that group's command: one results/ holds one configuration's tables).

A table gets its header as its first line (a quoted line, then a blank one); a PNG carries it as
text chunks, which image viewers ignore. The check compares what follows the header (a table's
text, a PNG's pixels), so a rebuild at another commit or date that gives the same numbers passes,
and any number that moved shows as a diff."""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HEADER_PREFIX = "> Built by "

TABLES = "metrics/tables/paper_clip_kmeans"
FIGURES = "figures/paper_clip_kmeans"


@dataclass(frozen=True)
class Group:
    """One run whose outputs docs/figures/ publishes: the command that makes them, its
    configuration files, and each published file's source under results/."""

    command: str
    configs: tuple[str, ...]
    files: dict[str, str]  # docs/figures name -> path under results/


def _claims(prefix: str, methods: tuple[str, ...]) -> dict[str, str]:
    return {f"{prefix}-claim-{m}.md": f"{TABLES}/claim/{m}/claim.md" for m in methods}


PREREGISTERED_CONFIGS = ("config/config.yaml", "config/preregistered.yaml")
PREREGISTERED_COMMAND = f"snakemake --cores all --configfile {' '.join(PREREGISTERED_CONFIGS)}"

GROUPS = {
    "embedded-default": Group(
        command="make run",
        configs=("config/config.yaml",),
        files={
            "embedded-default-summary.md": f"{TABLES}/summary.md",
            "embedded-default-bd.md": f"{TABLES}/bd.md",
            "embedded-default-prior.md": f"{TABLES}/prior.md",
            "embedded-default-cpips-check.md": f"{TABLES}/cpips_check.md",
            "embedded-default-progressive-check.md": f"{TABLES}/progressive_check.md",
            **_claims("embedded-default", ("c2f",)),
        },
    ),
    "operating-point-sweep": Group(
        command="snakemake --cores all --configfile config/config.yaml config/operating-point.yaml",
        configs=("config/config.yaml", "config/operating-point.yaml"),
        files={
            "operating-point-sweep-summary.md": f"{TABLES}/summary.md",
            "operating-point-sweep-prior.md": f"{TABLES}/prior.md",
        },
    ),
    "preregistered": Group(
        command=PREREGISTERED_COMMAND,
        configs=PREREGISTERED_CONFIGS,
        files={
            "preregistered-summary.md": f"{TABLES}/summary.md",
            "preregistered-prior.md": f"{TABLES}/prior.md",
            "preregistered-breakdown.md": f"{TABLES}/breakdown.md",
            **_claims("preregistered", ("c2f", "c2f_paper", "c2f_teacher", "c2f_balanced")),
        },
    ),
    # the same run's figures, a group of their own: redrawn from its tables by later figure code
    "preregistered-figures": Group(
        command=PREREGISTERED_COMMAND,
        configs=PREREGISTERED_CONFIGS,
        files={
            f"preregistered-{name}.png": f"{FIGURES}/{name}.png"
            for name in (
                "balanced_vs_bpp",
                "paired_difference",
                "quality_vs_bpp",
                "top1_vs_bpp",
                "reconstructions_equal_rate",
                "coarse_confusion",
                "training_curves",
            )
        },
    ),
}


def header(group: Group, commit: str, day: str) -> str:
    configs = " ".join(group.configs)
    return (
        f"{HEADER_PREFIX}`{group.command}` (configuration: {configs}) at commit {commit}, {day}. "
        "Copied from results/ by `make docs-figures`; `make check-docs-figures` compares it with results/."
    )


def current_commit(repo: Path) -> str:
    """The checkout's commit, marked when the code that makes results differs from it."""
    sha = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=repo, capture_output=True, text=True)
    if sha.returncode != 0:
        raise RuntimeError(f"publish: {repo} is not a git checkout ({sha.stderr.strip()})")
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src", "workflow", "config", "Snakefile"],
        cwd=repo,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return sha.stdout.strip() + (" with uncommitted changes" if dirty else "")


def body(path: Path) -> str | bytes:
    """What the check compares: a table without its header; a PNG's decoded pixels."""
    if path.suffix == ".png":
        from PIL import Image

        with Image.open(path) as image:
            return image.convert("RGBA").tobytes() + repr(image.size).encode()
    text = path.read_text()
    if text.startswith(HEADER_PREFIX):
        text = text.split("\n", 2)[2] if text.count("\n") >= 2 else ""
    return text


def write(source: Path, target: Path, head: str) -> None:
    if source.suffix == ".png":
        from PIL import Image
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Source", head.removeprefix("> "))
        with Image.open(source) as image:
            image.save(target, pnginfo=info)
        return
    target.write_text(f"{head}\n\n{source.read_text()}")


def missing_sources(group: Group, results: Path) -> list[str]:
    return [str(results / rel) for rel in group.files.values() if not (results / rel).is_file()]


def publish(group: Group, results: Path, docs: Path, commit: str, day: str) -> list[Path]:
    missing = missing_sources(group, results)
    if missing:
        raise FileNotFoundError(f"publish: not built yet (run `{group.command}` first): {', '.join(missing)}")
    docs.mkdir(parents=True, exist_ok=True)
    head = header(group, commit, day)
    written = []
    for name, rel in group.files.items():
        write(results / rel, docs / name, head)
        written.append(docs / name)
    return written


def differences(group: Group, results: Path, docs: Path) -> list[str]:
    """Each published file that is missing or differs from its source, with a diff for tables."""
    missing = missing_sources(group, results)
    if missing:
        raise FileNotFoundError(f"publish: not built yet (run `{group.command}` first): {', '.join(missing)}")
    found = []
    for name, rel in group.files.items():
        published = docs / name
        if not published.is_file():
            found.append(f"{published}: not published (make docs-figures)")
            continue
        if published.suffix == ".md" and not published.read_text().startswith(HEADER_PREFIX):
            found.append(f"{published}: has no header line (make docs-figures)")
        old, new = body(published), body(results / rel)
        if old == new:
            continue
        if isinstance(old, str):
            diff = difflib.unified_diff(
                old.splitlines(), new.splitlines(), str(published), str(results / rel), lineterm=""
            )
            found.append("\n".join(diff))
        else:
            found.append(f"{published}: its pixels differ from {results / rel}")
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # One results/ holds one configuration's tables: each group is published or checked right
    # after its own command; `make run` builds the embedded default's.
    parser.add_argument(
        "--group", choices=sorted(GROUPS), action="append", help="default: embedded-default (what make run builds)"
    )
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--docs", type=Path, default=Path("docs/figures"))
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    parser.add_argument("--commit", help="the commit the results were built at (default: this checkout's)")
    parser.add_argument("--date", default=date.today().isoformat())


def run_command(args: argparse.Namespace) -> int:
    names = args.group or ["embedded-default"]
    if args.check:
        found = [line for name in names for line in differences(GROUPS[name], args.results, args.docs)]
        for line in found:
            print(line, file=sys.stderr)
        print(f"check-docs-figures: {'differences in ' + str(len(found)) + ' file(s)' if found else 'all equal'}")
        return 1 if found else 0
    commit = args.commit or current_commit(Path.cwd())
    for name in names:
        for path in publish(GROUPS[name], args.results, args.docs, commit, args.date):
            print(f"docs-figures: {path}")
    return 0
