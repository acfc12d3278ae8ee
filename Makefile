# Two entry points for a fresh machine; both set everything up first (idempotent, seconds when done).
VENV ?= .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
# Offline by default (every asset of the embedded default is local); HF_HUB_OFFLINE=0 in the
# environment or on the command line lets the CLIP hierarchy (config/clip.yaml) fetch weights.
HF_HUB_OFFLINE ?= 1
export HF_HUB_OFFLINE
# An overlay merged over config/config.yaml: `make run CONFIG=config/clip.yaml`.
CONFIG ?=
CONFIG_ARGS := $(if $(CONFIG),--configfile config/config.yaml $(CONFIG))
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: docs-figures check-docs-figures setup setup-test lock pull-models base run test lint test-fast test-slow test-network dry-run pull repro clean

setup:  ## what the pipeline needs (Debian packages, venv, WordNet)
	@bash scripts/setup.sh

setup-test:  ## the above, plus what only the tests need (chromium, slurm-wlm, munge)
	@bash scripts/setup.sh test

lock:  ## regenerate requirements.lock from requirements.txt (network; UPGRADE=1 moves unpinned dependencies to their newest)
	@bash scripts/lock.sh

pull-models: setup  ## the shipped models (base codec, CLI default), from the DVC remote inside the repository, verified
	@bash scripts/pull-models.sh

base: setup  ## rebuild the base codec from scratch (hours on CPU; resumes after a kill), then publish it
	$(BIN)/snakemake --cores all results/checkpoints/pretrain/c2f/model.pt
	bash scripts/publish-model.sh results/checkpoints/pretrain/c2f models/base/c2f "make base"

run: pull-models  ## the pipeline on the embedded default (config/config.yaml; CONFIG=overlay.yaml merges one over it), then dvc.lock
	$(BIN)/snakemake --cores all $(CONFIG_ARGS)
	@# What was built is what params.yaml's configuration gives: record it in dvc.lock (`dvc status`
	@# clean, `dvc push` shares it). An overlay is another configuration: nothing is recorded.
	@# dvc.yaml's stages only: committing the shipped models' .dvc files too would copy them back
	@# from the cache, newer than every result, and Snakemake would rerun the whole study.
	$(if $(CONFIG),@echo "make run: CONFIG=$(CONFIG) is not params.yaml's configuration; dvc.lock left as it was",$(BIN)/dvc commit --force --quiet dvc.yaml)

docs-figures: setup  ## copy results/' tables and figures into docs/figures/ with their header (GROUP=embedded-default, the default; preregistered, preregistered-figures or operating-point-sweep right after that run)
	$(BIN)/python -m coarse2fine.figures publish $(if $(GROUP),--group $(GROUP))

check-docs-figures: setup  ## results/ against docs/figures/: a diff for every number that moved, exit 1 if any
	$(BIN)/python -m coarse2fine.figures publish --check $(if $(GROUP),--group $(GROUP))

dry-run: setup  ## what `make run` would run (the shipped models are pulled by the jobs that need them)
	$(BIN)/snakemake -n $(CONFIG_ARGS)

test: setup-test pull-models lint  ## lint, then every test: the fast suite, then the slow-marked ones (what CI runs)
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q -m "slow and not network"

lint: setup-test  ## ruff: the linter and the formatter's check (pyproject.toml [tool.ruff])
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-fast: setup-test pull-models  ## the fast suite only (about 3 minutes on 2 cores)
	$(BIN)/python -m pytest -q

test-slow: setup-test pull-models  ## the slow-marked tests (fuzzing at scale, kill-and-resume, Slurm, DVC round trips)
	$(BIN)/python -m pytest -q -m "slow and not network"

test-network: setup-test pull-models  ## tests that need the internet (the CLIP hierarchy); each skips offline, saying so
	$(BIN)/python -m pytest -q -m network

clean:  ## pipeline outputs only; the venv stays
	rm -rf results/* data/*/ .snakemake

pull: setup  ## DVC: fetch cached artifacts, then restamp every job in DAG order so Snakemake sees them current
	$(BIN)/dvc pull
	@# Restamp only what matches this checkout's code and settings: a stage `dvc status` lists was
	@# made from others, and restamping it would pass stale results off as current.
	@$(BIN)/dvc status --quiet || { $(BIN)/dvc status; echo "make pull: the stages above were pushed from other code or settings than this checkout's; nothing restamped: run make run (or dvc repro) to rebuild what changed"; exit 1; }
	@# Every job, not only those whose files look stale: Snakemake records each job's settings and
	@# code as it restamps it, so a later edit (a hierarchy's entry, a setting) reruns its jobs.
	$(BIN)/snakemake --touch --forceall --cores 1 --quiet

repro: setup  ## DVC: rebuild what changed, stage by stage (each stage runs a Snakemake target)
	$(BIN)/dvc repro
