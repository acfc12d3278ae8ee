#!/usr/bin/env bash
# Fetch the shipped models (models/*/*/model.pt: the base codec the fine-tunes start from, the
# CLI's default codec, the shipped baselines) from the DVC remote that comes with the repository
# (models/remote), offline, and verify each against the sha256 its provenance records. With
# arguments (model.pt.dvc files), only those: the pipeline's `shipped_model` rule pulls what a
# job needs. Fails loudly: a missing remote or a file that does not match is an error, never "up
# to date". Idempotent: with the files in place it checks them and returns in a few seconds.
# One pull at a time (flock): DVC refuses a second process on the same repository.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
shopt -s nullglob
if [ $# -gt 0 ]; then tracked=("$@"); else tracked=(models/*/*/model.pt.dvc); fi
[ ${#tracked[@]} -gt 0 ] || { echo "pull-models: no shipped model is tracked (models/*/*/model.pt.dvc)" >&2; exit 1; }
for dvcfile in "${tracked[@]}"; do
  [ -f "$dvcfile" ] || { echo "pull-models: $dvcfile does not exist (a shipped model is tracked as models/<kind>/<name>/model.pt.dvc)" >&2; exit 1; }
done
[ -d models/remote ] || { echo "pull-models: the shipped DVC remote models/remote is missing from this checkout" >&2; exit 1; }
mkdir -p .dvc/tmp
exec 9> .dvc/tmp/pull-models.lock
flock 9
"$PY" -m dvc pull "${tracked[@]}" || {
  echo "pull-models: dvc pull of ${tracked[*]} from the shipped remote (models/remote) failed" >&2; exit 1; }
for dvcfile in "${tracked[@]}"; do
  "$PY" -m coarse2fine.training verify-base --checkpoint "${dvcfile%.dvc}" \
    --provenance "$(dirname "$dvcfile")/provenance.json"
done
