# Two entry points for a fresh machine; both set everything up first (idempotent, seconds when done).
VENV ?= .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup run test test-slow dry-run pull repro clean

setup:
	@bash scripts/setup.sh

run: setup  ## the pipeline on the embedded default (config/config.yaml)
	$(BIN)/snakemake --cores all

dry-run: setup
	$(BIN)/snakemake -n

test: setup  ## the default (fast) test suite
	$(BIN)/python -m pytest -q

test-slow: setup  ## the slow-marked tests (fuzzing at scale, kill-and-resume, Slurm, DVC round trips)
	$(BIN)/python -m pytest -q -m slow

clean:  ## pipeline outputs only; the venv stays
	rm -rf results/* data/*/ .snakemake

pull: setup  ## DVC: fetch cached artifacts, then restamp them in DAG order so Snakemake sees them current
	$(BIN)/dvc pull
	$(BIN)/snakemake --touch --cores 1 --quiet

repro: setup  ## DVC: rebuild what changed, stage by stage (each stage runs a Snakemake target)
	$(BIN)/dvc repro
