#!/usr/bin/env bash
# Publish a trained checkpoint as a shipped model: copy it (and its training log) into
# models/<kind>/<name>/, write its provenance beside it, track it with DVC and push it to the
# remote that ships inside the repository (models/remote, DVC remote "shipped").
#   bash scripts/publish-model.sh results/checkpoints/pretrain/c2f models/base/c2f "COMMAND THAT MADE IT"
#   bash scripts/publish-model.sh results/checkpoints/c2f/paper_clip_kmeans/rp1 models/default/c2f "make run"
# Then commit the target folder (model.pt.dvc, provenance.json, log.csv) and models/remote.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=${1:?usage: publish-model.sh SOURCE_DIR TARGET_DIR [COMMAND]}
target=${2:?usage: publish-model.sh SOURCE_DIR TARGET_DIR [COMMAND]}
command_line=${3:-}
PY=${PYTHON:-.venv/bin/python}
[ -f "$source_dir/model.pt" ] || { echo "publish-model: $source_dir/model.pt not found: train it first" >&2; exit 1; }
mkdir -p "$target"
cp "$source_dir/model.pt" "$target/model.pt"
cp "$source_dir/log.csv" "$target/log.csv"
"$PY" -m coarse2fine.training base-provenance --checkpoint "$target/model.pt" --command-line "$command_line" \
  --output "$target/provenance.json"
"$PY" -m dvc add -q "$target/model.pt"
# pull and push this artifact through the shipped remote, whatever the default remote is
"$PY" - "$target/model.pt.dvc" <<'PYEOF'
import sys, yaml
path = sys.argv[1]
data = yaml.safe_load(open(path))
for out in data["outs"]:
    out["remote"] = "shipped"
open(path, "w").write(yaml.safe_dump(data, sort_keys=False))
PYEOF
"$PY" -m dvc push -q -r shipped "$target/model.pt.dvc"
echo "publish-model: $target/model.pt published ($(du -h "$target/model.pt" | cut -f1)); commit $target and models/remote"
