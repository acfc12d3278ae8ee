#!/usr/bin/env bash
# Idempotent set-up: Debian packages, the virtual environment from the lock (requirements.lock:
# every package pinned, with hashes), the project itself (editable), and offline WordNet for
# nltk. A second run finds everything in place and returns in seconds. `setup.sh` sets up what
# the pipeline needs; `setup.sh test` adds what only the tests need (a browser, a local Slurm).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${C2F_VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# Debian packages: what the pipeline needs (scripts/debian-packages.txt), and with `setup.sh test`
# what only the tests need (scripts/debian-packages-test.txt). Without root or sudo, say exactly
# what is missing and how to get it: the pipeline's packages are required, the tests' optional.
PURPOSE=${1:-run}
lists=(scripts/debian-packages.txt)
[ "$PURPOSE" = test ] && lists+=(scripts/debian-packages-test.txt)
install_packages() {  # $1: list file; returns 1 if packages stay missing
  local -a wanted missing=()
  mapfile -t wanted < <(grep -v '^\s*#' "$1" | awk 'NF{print $1}')
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup: not a Debian system: install the equivalents of ${wanted[*]} yourself ($1)" >&2
    return 1
  fi
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else
      echo "setup: missing Debian packages ${missing[*]} ($1) and no root or sudo here;" \
           "ask an administrator for: apt-get install ${missing[*]}" >&2
      return 1
    fi
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
}
install_packages scripts/debian-packages.txt || {
  echo "setup: the pipeline needs these packages (WordNet); stopping" >&2; exit 1; }
if [ "$PURPOSE" = test ]; then
  install_packages scripts/debian-packages-test.txt \
    || echo "setup: continuing without them: the report and Slurm tests will skip, saying why" >&2
fi

# The venv is rebuilt only when the pinned requirements, the lock or the project metadata change.
stamp="$VENV/.c2f-setup-stamp"
want=$(cat requirements.txt requirements.lock requirements-photos.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  echo "setup: installing Python requirements into $VENV (first run takes a few minutes)"
  # pip's own exit status decides; its messages are shown (minus one harmless notice) either way.
  pip_quiet() {
    local out status=0
    out=$("$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1) || status=$?
    printf '%s\n' "$out" | grep -v -e "is ignored: it is neither" -e '^$' >&2 || true
    if [ "$status" -ne 0 ]; then
      echo "setup: \`pip install $*\` failed (exit $status); the package it could not install is named above" >&2
      exit 1
    fi
  }
  # The lock must pin what requirements.txt asks for (one line naming what differs if not), then
  # exactly its files are installed: every transitive dependency at its locked version, each file
  # checked against the lock's sha256 (`make lock` regenerates it after an edit of requirements.txt).
  "$VENV/bin/python" scripts/check_requirements.py --lock requirements.lock requirements.txt || exit 1
  pip_quiet --require-hashes --no-deps -r requirements.lock
  # Photo-only packages: their data folders are read, their code is never imported.
  pip_quiet --no-deps -r requirements-photos.txt
  pip_quiet --no-deps -e .
  # Every pinned requirement present at its pin, named if not; then the core imports.
  "$VENV/bin/python" scripts/check_requirements.py requirements.txt requirements-photos.txt || exit 1
  "$VENV/bin/python" -c "import torch, torchvision, compressai, snakemake, coarse2fine" \
    || { echo "setup: the environment does not import; see the messages above" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# WordNet for nltk, built from the Debian files (no network needed).
"$VENV/bin/python" -m coarse2fine.hierarchy wordnet --install >/dev/null
