# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test lint bench install install-test sysdeps clean assets assets-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian packages the tests use: a throwaway PostgreSQL server and redis-server.
sysdeps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

run: install
	$(BIN)/xieshang init
	$(BIN)/xieshang demo --once
	$(BIN)/xieshang serve --host 127.0.0.1 --port 5000

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# pytest-xdist workers, one per core (TEST_WORKERS=0 runs one process). Each worker starts its own PostgreSQL, redis
# and live servers on free ports and keeps its own e2e screenshot folder (test-output/e2e/gw<N>/). Plain load
# distribution: pytest 9.2 keeps a test's id where xdist 3.8's --dist loadgroup cannot add the group to it.
TEST_WORKERS ?= 2

test: install-test sysdeps lint
	$(BIN)/python -m pytest -q --durations=25 -n $(TEST_WORKERS) --dist load

bench: install-test sysdeps
	$(BIN)/python -m tests.perf.bench --postgres --topology

# Front-end bundles (needs Node.js + npm; the output under webui/static/bpmn/, charts/, dmn/ and studio/ is
# committed). assets: reinstall from the lockfile and rebuild; assets-check: fail if the committed build is stale.
assets:
	cd webui/frontend && npm ci --prefer-offline --no-audit --no-fund && node build.mjs && node charts.mjs && \
	  node dmn.mjs && node studio.mjs

assets-check:
	cd webui/frontend && npm ci --prefer-offline --no-audit --no-fund
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd webui/frontend && node build.mjs "$$tmp/bpmn") && \
	diff -r "$$tmp/bpmn" webui/static/bpmn && echo "webui/static/bpmn is up to date"
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd webui/frontend && node charts.mjs "$$tmp/charts") && \
	diff -r "$$tmp/charts" webui/static/charts && echo "webui/static/charts is up to date"
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd webui/frontend && node dmn.mjs "$$tmp/dmn") && \
	diff -r "$$tmp/dmn" webui/static/dmn && echo "webui/static/dmn is up to date"
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd webui/frontend && node studio.mjs "$$tmp/studio") && \
	diff -r "$$tmp/studio" webui/static/studio && echo "webui/static/studio is up to date"

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
