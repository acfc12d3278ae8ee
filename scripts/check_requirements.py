"""Check that every requirement of the given files is installed at a version it allows; name each
one that is not (set-up runs it after pip, so a package that failed to install is never silent)."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import InvalidRequirement, Requirement


def unmet(paths: list[str]) -> list[str]:
    problems = []
    for path in paths:
        for number, raw in enumerate(open(path), 1):
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            try:
                requirement = Requirement(line)
            except InvalidRequirement as exc:
                problems.append(f"{path}:{number}: {line!r} is not a requirement ({exc})")
                continue
            try:
                installed = version(requirement.name)
            except PackageNotFoundError:
                problems.append(f"{requirement.name} is not installed ({path}:{number})")
                continue
            if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
                problems.append(f"{requirement.name} {installed} is installed, {path} asks for {requirement.specifier}")
    return problems


if __name__ == "__main__":
    found = unmet(sys.argv[1:])
    for problem in found:
        print(f"setup: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
