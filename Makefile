# Faro's two commands: `make run` (capture against the local cluster) and `make test`.
# Everything is set up from nothing: a virtualenv, the cluster binaries (built from Go
# modules into ~/.cache/faro, once per version), and the cluster itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TESTBED_LOGS = $(shell bash -c 'source testbed/versions.env; source testbed/paths.sh; echo $$FARO_TESTBED_LOGS')
KUBECONFIG_PATH = $(shell bash -c 'source testbed/versions.env; source testbed/paths.sh; echo $$FARO_KUBECONFIG')

.PHONY: venv build-testbed cluster-up cluster-down lint typecheck test test-unit test-cluster run bench clean

$(BIN)/faro: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/faro

build-testbed:
	testbed/build.sh

cluster-up:
	@testbed/cluster-up.sh

cluster-down:
	@testbed/cluster-down.sh

lint: venv
	$(BIN)/ruff check src tests demo benchmarks
	$(BIN)/ruff format --check src tests demo benchmarks
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

# pytest's exit code 5 ("no tests collected") is a failure: a run that tests nothing is red.
PYTEST = rc=0; $(BIN)/pytest $(1) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; [ $$rc -eq 0 ]

# Unit tests share no state: two workers, one per core.
test-unit: venv
	$(call PYTEST,-m "not cluster" -n 2)

# The README's test command. The cluster is started if none is running and left running
# for fast local iteration (`make cluster-down` stops it); CI stops it itself. The cluster
# tests run one at a time: some restart the control plane under the others.
test: venv lint typecheck test-unit
	testbed/cluster-up.sh >/dev/null
	KUBECONFIG=$(KUBECONFIG_PATH) $(call PYTEST,-m cluster)

run: venv
	testbed/cluster-up.sh >/dev/null
	KUBECONFIG=$(KUBECONFIG_PATH) FARO_TESTBED_LOGS=$(TESTBED_LOGS) PATH=$(shell bash -c 'source testbed/versions.env; source testbed/paths.sh; echo $$FARO_TESTBED_BIN'):$$PATH $(BIN)/python demo/run.py

# The benchmarks and docs/benchmarks.md (benchmarks/run.py); one part: make bench ARGS="--only ingest".
bench: venv
	$(BIN)/python -m benchmarks.run $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache output
