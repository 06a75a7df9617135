SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
PYTEST_ARGS ?=
# test files run on both cores; a file's tests stay together (they share module fixtures)
TEST_WORKERS ?= 2

TOOLS := .venv-tools
.PHONY: help setup python broker cluster-fetch cluster-up cluster-down chromium tools lrs-suite lock lint format test test-unit demo bench docs clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'

setup: python broker cluster-fetch chromium tools ## .venv with the project, the Kafka broker jars, the cluster's Flink and job server, Chromium, test tools

python: $(VENV)/.installed $(VENV)/.native

# The compiled module (transforms/native/, Rust): the transform's normaliser and ingest file's
# NDJSON reader. Built with the machine's Rust (cargo on PATH or in ~/.cargo/bin), crates from
# crates.io and a C compiler (ring and mimalloc compile C and assembly from their crates);
# without them the transform normalises and ingest file reads in Python, with the same results
# at 2-3x the CPU (make bench).
CARGO := $(or $(shell command -v cargo 2>/dev/null),$(wildcard $(HOME)/.cargo/bin/cargo))
CC_FOUND := $(shell command -v cc 2>/dev/null)
NATIVE_SOURCES := transforms/native/Cargo.toml transforms/native/Cargo.lock transforms/native/pyproject.toml $(wildcard transforms/native/src/*.rs)

$(VENV)/.native: $(VENV)/.installed $(NATIVE_SOURCES)
ifeq ($(CARGO),)
	@echo "note: no Rust toolchain (cargo): skipping transforms/native/; the transform normalises in Python"
else ifeq ($(CC_FOUND),)
	@echo "note: no C compiler (cc): skipping transforms/native/; the transform normalises in Python"
else
	PATH="$(dir $(CARGO)):$$PATH" $(UV) pip install --quiet --python $(BIN)/python \
	  --reinstall-package skillstream-native ./transforms/native
	@touch $@
endif

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "missing: Python 3.11 ($(PYTHON) not on PATH)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@# Bytecode once, here: without it every process (each CLI call, each transform worker)
	@# compiles Beam, pandas and pyarrow again when PYTHONDONTWRITEBYTECODE is set (+3 s).
	@$(BIN)/python -m compileall -q -j 0 $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') >/dev/null 2>&1 || true
	@touch $@

broker: $(VENV)/.installed ## fetch Apache Kafka from Maven Central into the cache (needs Java 17+, Maven)
	@$(BIN)/python -m skillstream.broker fetch

# The cluster of docs/scale-out.md: Flink from PyPI's PyFlink archives, Beam's Flink job server
# from Maven Central (~350 MB in the cache, fetched once).
cluster-fetch: $(VENV)/.installed ## fetch Apache Flink and Beam's Flink job server into the cache (needs Java 17+, Maven)
	@$(BIN)/skillstream cluster fetch

cluster-up: python broker cluster-fetch ## 3 Kafka brokers, Flink (JobManager + 2 TaskManagers) and Beam's Flink job server on this machine
	$(BIN)/skillstream cluster up

cluster-down: ## stop what cluster-up started
	$(BIN)/skillstream cluster down

chromium: ## Debian's Chromium and poppler-utils (pdftotext) for the browser and report tests
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || { \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium poppler-utils; \
	  else echo "missing: chromium, poppler-utils (the browser and report tests need them)"; exit 1; fi; }

tools: $(TOOLS)/.installed ## .venv-tools: real xAPI clients and a second LRS for tests (TinCanPython, Ralph)

$(TOOLS)/.installed: $(VENV)/.installed tests/tools/requirements.lock
	@test -x $(TOOLS)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(TOOLS)
	$(UV) pip install --quiet --python $(TOOLS)/bin/python -r tests/tools/requirements.lock
	@touch $@

lock: ## re-resolve requirements.lock from pyproject.toml (and the test tools' lock)
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(UV) pip compile tests/tools/requirements.in --python-version 3.11 -o tests/tools/requirements.lock

lint: $(VENV)/.installed ## ruff (lint + format check), mypy, and rustfmt + clippy for transforms/native/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy skillstream ingestion transforms quality dashboards
ifneq ($(CARGO),)
	PATH="$(dir $(CARGO)):$$PATH" cargo fmt --manifest-path transforms/native/Cargo.toml --check
	PATH="$(dir $(CARGO)):$$PATH" cargo clippy --release --manifest-path transforms/native/Cargo.toml --quiet -- -D warnings
endif

format: $(VENV)/.installed ## apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# ADL's LRS conformance suite (tests/lrs_conformance/suite, Node.js): its modules from the
# npm registry, as its package-lock.json pins them. Without npm the suite's test is skipped.
LRS_SUITE := tests/lrs_conformance/suite
lrs-suite: ## node modules of ADL's LRS conformance suite (npm ci; skipped without npm)
	@if command -v npm >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory $(LRS_SUITE)/node_modules/.installed; \
	else \
	  echo "npm not found: tests/lrs_conformance (ADL's LRS conformance suite) will be skipped"; \
	fi

$(LRS_SUITE)/node_modules/.installed: $(LRS_SUITE)/package.json $(LRS_SUITE)/package-lock.json
	cd $(LRS_SUITE) && npm ci --no-audit --no-fund
	touch $@

test: setup lint lrs-suite ## lint, then every test: unit, integration (real Kafka, dbt, GX, the LRS conformance suite) and browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-unit: $(VENV)/.installed ## only the fast tests
	$(BIN)/pytest -m "not integration and not browser" $(PYTEST_ARGS)

demo: python broker ## run everything on a simulated organisation and serve the dashboard
	$(BIN)/skillstream demo

bench: setup ## run every benchmark (bench/bench_*.py); results in bench/results/
	@set -e; for script in bench/bench_*.py; do \
	  [ -e "$$script" ] || continue; \
	  echo "== $$script"; $(BIN)/python -m bench.$$(basename $$script .py); \
	done

docs: $(VENV)/.installed ## dbt docs generate (models, columns, lineage) into SKILLSTREAM_HOME/dbt/target
	$(BIN)/skillstream docs

clean: ## stop the broker and remove local state (.skillstream/, data/)
	-@test -x $(BIN)/skillstream && $(BIN)/skillstream down
	rm -rf .skillstream data
