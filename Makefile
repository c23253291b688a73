# Two set-up-and-go commands (see README):
#   make demo   # set up .venv, run the whole embedded demo: snakemake --cores all results/tables/main.csv
#   make test   # set up .venv, run the test suite (unit + end-to-end on config/test.yaml)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all
CONFIGFILE ?= config/config.yaml   # the config dvc.yaml was generated from

.PHONY: setup demo test test-fast lint bench dvc-yaml pull repro

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES) results/tables/main.csv

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest

test-fast: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --lint

bench: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python bench/run_all.py

dvc-yaml: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/mgiqa dvc-export -o dvc.yaml

repro: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

# Restore data, checkpoints and results from the DVC remote, then mark them up to date for Snakemake
# (a pull leaves file times arbitrary; DVC has just verified the contents against dvc.lock).
pull: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc pull
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc status --quiet || { echo "make pull: the workspace differs from dvc.lock (see dvc status); rerun with dvc repro or snakemake instead" >&2; exit 1; }
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake results/tables/main.csv --touch --cores 1 --configfile $(CONFIGFILE)
