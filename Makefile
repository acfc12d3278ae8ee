# Two entry points for a fresh machine; both set everything up first (idempotent, seconds when done).
VENV ?= .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup pull-models base run test test-fast test-slow dry-run pull repro clean

setup:
	@bash scripts/setup.sh

pull-models: setup  ## the shipped models (base codec, CLI default), from the DVC remote inside the repository, verified
	@bash scripts/pull-models.sh

base: setup  ## rebuild the base codec from scratch (hours on CPU; resumes after a kill), then publish it
	$(BIN)/snakemake --cores all results/checkpoints/pretrain/c2f/model.pt
	bash scripts/publish-model.sh results/checkpoints/pretrain/c2f models/base/c2f "make base"

run: pull-models  ## the pipeline on the embedded default (config/config.yaml)
	$(BIN)/snakemake --cores all

dry-run: pull-models
	$(BIN)/snakemake -n

test: pull-models  ## every test: the fast suite, then the slow-marked ones (what CI runs)
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q -m slow

test-fast: pull-models  ## the fast suite only (about 3 minutes on 2 cores)
	$(BIN)/python -m pytest -q

test-slow: pull-models  ## the slow-marked tests (fuzzing at scale, kill-and-resume, Slurm, DVC round trips)
	$(BIN)/python -m pytest -q -m slow

clean:  ## pipeline outputs only; the venv stays
	rm -rf results/* data/*/ .snakemake

pull: setup  ## DVC: fetch cached artifacts, then restamp them in DAG order so Snakemake sees them current
	$(BIN)/dvc pull
	$(BIN)/snakemake --touch --cores 1 --quiet

repro: setup  ## DVC: rebuild what changed, stage by stage (each stage runs a Snakemake target)
	$(BIN)/dvc repro
