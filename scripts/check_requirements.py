"""Check the environment against the requirements files.

    check_requirements.py REQUIREMENTS...                 each requirement installed at a version it
                                                          allows (set-up runs it after pip)
    check_requirements.py --lock LOCK REQUIREMENTS...     the lock pins every requirement at a
                                                          version it allows (set-up runs it before pip)

Every problem is named, so a package that failed to install, or a lock left behind by an edit of
requirements.txt, is never silent. Runs in a fresh virtual environment too (before anything is
installed there): `packaging` then comes from pip's own copy."""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # a fresh venv: pip carries packaging
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
    from pip._vendor.packaging.utils import canonicalize_name


def requirements(path: str) -> tuple[list[tuple[int, Requirement]], list[str]]:
    """(line number, requirement) of every requirement line of a requirements file, and the
    lines that are not requirements."""
    found, problems = [], []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            try:
                found.append((number, Requirement(line)))
            except InvalidRequirement as exc:
                problems.append(f"{path}:{number}: {line!r} is not a requirement ({exc})")
    return found, problems


def unmet(paths: list[str]) -> list[str]:
    problems = []
    for path in paths:
        found, invalid = requirements(path)
        problems += invalid
        for number, requirement in found:
            try:
                installed = version(requirement.name)
            except PackageNotFoundError:
                problems.append(f"{requirement.name} is not installed ({path}:{number})")
                continue
            if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
                problems.append(f"{requirement.name} {installed} is installed, {path} asks for {requirement.specifier}")
    return problems


# A lock's requirement line: `name==version`, then markers or a continuation (hashes follow).
LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked_versions(lock: str) -> dict[str, set[str]]:
    """Every pinned version of a lock (pip-compile / `uv pip compile` format), by canonical name."""
    pins: dict[str, set[str]] = {}
    with open(lock, encoding="utf-8") as f:
        for line in f:
            match = LOCKED.match(line)
            if match:
                pins.setdefault(canonicalize_name(match.group(1)), set()).add(match.group(2))
    return pins


def lock_mismatches(lock: str, paths: list[str]) -> list[str]:
    """What `lock` does not pin as the requirements files ask: a package missing from it, or
    locked at a version its requirement does not allow."""
    pins = locked_versions(lock)
    problems = []
    for path in paths:
        found, invalid = requirements(path)
        problems += invalid
        for _, requirement in found:
            versions = pins.get(canonicalize_name(requirement.name))
            if not versions:
                problems.append(f"{requirement.name} is not in it")
            elif not any(requirement.specifier.contains(v, prereleases=True) for v in versions):
                problems.append(
                    f"{requirement.name} is locked at {', '.join(sorted(versions))}, {path} asks for {requirement}"
                )
    return problems


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--lock"]:
        lock, paths = args[1], args[2:]
        found = lock_mismatches(lock, paths)
        if found:
            # one line: what is wrong and how to fix it
            print(
                f"setup: {lock} does not match {' '.join(paths)} ({'; '.join(found)}): run `make lock`", file=sys.stderr
            )
        sys.exit(1 if found else 0)
    found = unmet(args)
    for problem in found:
        print(f"setup: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
