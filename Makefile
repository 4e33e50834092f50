# Provenance Ledger. Two commands on a fresh machine:
#   make demo   - install everything pinned (first time only), then run the end-to-end demo
#   make test   - install everything pinned (first time only, plus chromium for the browser test), then run every test (forge + pytest)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.install-stamp
FORGE := node_modules/.bin/forge

.PHONY: install browser demo test test-forge test-py bench lint clean

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

test-py: $(STAMP) browser
	$(PY) -m pytest -n 2 -q

# Headless chromium for the audit-report browser test (Debian/Ubuntu; skipped locally without it, required under CI).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		(command -v apt-get >/dev/null && $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium) || \
		echo "warning: could not install chromium; tests/test_audit.py's browser test will be skipped (it fails under CI)" >&2

bench: $(STAMP)
	$(PY) scripts/bench_gas.py

clean:
	rm -rf $(VENV) node_modules out cache
