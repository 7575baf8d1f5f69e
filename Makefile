# gamegate developer commands. On a fresh machine with Python 3.11+:
#   make run    create .venv, install, start the gateway with demo data on http://127.0.0.1:8080
#   make test   create .venv, install, run the whole test suite
# Every target is safe to repeat: the virtualenv is rebuilt only when pyproject.toml changes.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.gamegate-installed
CONFIG ?= config/gamegate.toml

.PHONY: help venv browser run test check suite floors fmt lint typecheck imports verify clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The stamp is newer than pyproject.toml once `pip install -e '.[dev]'` has succeeded for it.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "gamegate needs Python 3.11+: make PYTHON=python3.11 ..." or 0)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

venv: $(STAMP) ## create or update .venv

run: $(STAMP) ## start the gateway with demo data (operator API key: demo-operator-key)
	$(BIN)/gamegate serve --config $(CONFIG) --demo

# The lobby page's browser test drives Debian's chromium (never a downloaded browser).
browser: ## install Debian's chromium for the browser test when it is missing (needs root)
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for tests/browser"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
	  || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; }

test: $(STAMP) browser ## what CI runs: formatting, lint, types, import contracts, then the whole suite
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

check: test ## the same as `make test` (kept for habit)

suite: $(STAMP) browser ## the test suite alone, without the static checks
	$(BIN)/python -m pytest

floors: ## prove pyproject's floors: `test` in a fresh .venv-floors with each floor exactly
	$(PYTHON) tools/check_floors.py

fmt: $(STAMP) ## format the code and apply safe lint fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(STAMP) ## ruff lint only
	$(BIN)/ruff check .

typecheck: $(STAMP) ## mypy (strict) only
	$(BIN)/mypy

imports: $(STAMP) ## import-linter dependency contracts only
	$(BIN)/lint-imports

verify: $(STAMP) ## reconcile the demo wallet (data/wallet.db): ledger sums and hash chain
	$(BIN)/gamegate verify --config $(CONFIG)

clean: ## remove caches (keeps .venv and data/)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
