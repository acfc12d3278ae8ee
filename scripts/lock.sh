#!/usr/bin/env bash
# Regenerate requirements.lock from requirements.txt: every transitive dependency pinned, with the
# sha256 of every file the package index offers for that release (all platforms), so that
# scripts/setup.sh installs exactly these files (`pip install --require-hashes --no-deps`).
# Needs network (the package index). Pins already in requirements.lock are kept where
# requirements.txt still allows them; `UPGRADE=1` (make lock UPGRADE=1) moves every unpinned
# transitive dependency to its newest release instead. The resolver (uv, pinned below) runs from a
# throwaway virtual environment; the project's own is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"$PYTHON" -m venv "$tools"
out=$("$tools/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION" 2>&1) \
  || { printf '%s\n' "$out" >&2; echo "lock: could not install uv==$UV_VERSION (needs network)" >&2; exit 1; }

upgrade=()
[ "${UPGRADE:-0}" = 1 ] && upgrade=(--upgrade)
# --universal: one lock for every platform and Python from 3.11 (markers say where a package
# applies, e.g. the CUDA libraries of torch's Linux wheels).
"$tools/bin/uv" pip compile requirements.txt "${upgrade[@]}" \
  --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command "make lock" --quiet -o requirements.lock
"$tools/bin/python" scripts/check_requirements.py --lock requirements.lock requirements.txt
echo "lock: requirements.lock written"
