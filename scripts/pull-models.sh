#!/usr/bin/env bash
# Fetch the shipped models (models/*/*/model.pt: the base codec the fine-tunes start from, the
# CLI's default codec) from the DVC remote that comes with the repository (models/remote),
# offline, and verify each against the sha256 its provenance records. Fails loudly: a missing
# remote or a file that does not match is an error, never "up to date". Idempotent: with the
# files in place it checks them and returns in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
shopt -s nullglob
tracked=(models/*/*/model.pt.dvc)
[ ${#tracked[@]} -gt 0 ] || { echo "pull-models: no shipped model is tracked (models/*/*/model.pt.dvc)" >&2; exit 1; }
[ -d models/remote ] || { echo "pull-models: the shipped DVC remote models/remote is missing from this checkout" >&2; exit 1; }
"$PY" -m dvc pull "${tracked[@]}" || {
  echo "pull-models: dvc pull of ${tracked[*]} from the shipped remote (models/remote) failed" >&2; exit 1; }
for dvcfile in "${tracked[@]}"; do
  "$PY" -m coarse2fine.training verify-base --checkpoint "${dvcfile%.dvc}" \
    --provenance "$(dirname "$dvcfile")/provenance.json"
done
