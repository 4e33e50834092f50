# Provenance Ledger. Two commands on a fresh machine:
#   make demo   - install everything pinned (first time only), then run the end-to-end demo
#   make test   - install everything pinned (first time only, plus chromium for the browser test), then run every test (forge + pytest)
#   make lint   - ruff (lint + format check), mypy --strict, import-linter (layers, no cycles), forge fmt --check, forge snapshot --check
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.install-stamp
FORGE := node_modules/.bin/forge

.PHONY: install browser demo test test-forge test-forge-ci test-py bench lint clean

$(STAMP): requirements.lock pyproject.toml package.json package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/provenance demo

test: test-forge test-py

test-forge: $(STAMP)
	$(FORGE) test

# CI's deeper fuzzing: foundry.toml's [profile.ci] (10,000 fuzz runs, 256 invariant runs).
test-forge-ci: $(STAMP)
	FOUNDRY_PROFILE=ci $(FORGE) test

test-py: $(STAMP) browser
	$(PY) -m pytest -n 2 -q

# Headless chromium for the audit-report browser test and graphviz's `dot` for the DOT checks
# (Debian/Ubuntu; those tests are skipped locally without them, and fail under CI).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@(command -v chromium >/dev/null || command -v chromium-browser >/dev/null) && command -v dot >/dev/null || \
		(command -v apt-get >/dev/null && $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium graphviz) || \
		echo "warning: could not install chromium/graphviz; the browser and DOT tests will be skipped (they fail under CI)" >&2

lint: $(STAMP)
	$(VENV)/bin/ruff check sdk tests scripts
	$(VENV)/bin/ruff format --check sdk tests scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(FORGE) fmt --check
	$(FORGE) snapshot --check

bench: $(STAMP)
	$(PY) scripts/bench_gas.py

clean:
	rm -rf $(VENV) node_modules out cache
