# Kaptain on Temporal. Two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help setup demo test e2e lint format typecheck contracts pytest stack-down clean

help:
	@echo "make demo   - set up .venv, start the embedded stack, build + train the mnist example"
	@echo "make test   - set up .venv and run every check (ruff, mypy, import-linter, pytest)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[torch,dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(PY) -m kaptain.cli dev up
	$(PY) examples/mnist/run.py
	@$(PY) -m kaptain.cli dev status
	@echo
	@echo "Open the Temporal UI above to see the build and train runs (filter: KaptainModelId=\"dev/mnist\")."
	@echo "Stop the stack with: $(PY) -m kaptain.cli dev down"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: setup
	$(VENV)/bin/mypy

contracts: setup
	$(VENV)/bin/lint-imports

pytest: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck contracts pytest

# Real-cluster suite (deploy/README.md): needs KAPTAIN_E2E_KUBECONFIG; skipped without it.
e2e: setup
	$(VENV)/bin/pytest tests/e2e -v

stack-down: setup
	$(PY) -m kaptain.cli dev down

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
