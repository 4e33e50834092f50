# Provenance Ledger. Two commands on a fresh machine:
#   make demo   - install everything pinned (first time only), then run the end-to-end demo
#   make test   - install everything pinned (first time only), then run every test (forge + pytest)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.install-stamp
FORGE := node_modules/.bin/forge

.PHONY: install demo test test-forge test-py bench lint clean

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

test-py: $(STAMP)
	$(PY) -m pytest -n 2 -q

bench: $(STAMP)
	$(PY) scripts/bench_gas.py

clean:
	rm -rf $(VENV) node_modules out cache
