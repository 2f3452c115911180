# Kubeline developer entry points. `make demo` and `make test` do all set-up themselves.
SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/kubeline
VENV ?= $(CACHE)/venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup lock demo test test-unit lint crds cluster-up cluster-down image bench bench-startup ui

setup:
	@KUBELINE_VENV=$(VENV) ./scripts/install-prereqs.sh

## Renovate constraints.txt (the pins of every Python package): resolve pyproject.toml afresh.
lock:
	@./scripts/lock.sh

## The web UI's assets (sdk/kubeline/ui/static), cached by lockfile and sources.
ui:
	@./scripts/build-ui.sh

## The main job: local cluster, image, chart, the iris pipeline twice (second run cached).
demo: setup ui
	@PATH="$(VENV)/bin:$$PATH" ./scripts/demo.sh

## Every test: unit, integration (real API server) and e2e (real pods and S3).
test: setup ui
	@$(VENV)/bin/kubeline dev build hyperkube etcd pause helm versitygw kwok
	@$(PY) -m pytest tests $(PYTEST_ARGS)

test-unit: setup
	@$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)

## ruff, lint-imports (.importlinter) and mypy; CI runs it before the tests.
lint: setup
	@PATH="$(VENV)/bin:$$PATH" ./scripts/lint.sh

crds: setup
	@$(PY) -m kubeline.resources.crdgen

cluster-up: setup
	@$(VENV)/bin/kubeline dev up

cluster-down: setup
	@$(VENV)/bin/kubeline dev down

image: setup ui
	@$(VENV)/bin/kubeline dev image

## Every benchmark (figures printed, nothing asserted); the cluster ones need the local
## cluster with the operator installed. Under the shared cluster lock where there is one.
BENCH_CLUSTER := admission_latency step_transition throughput operator_rss lineage_query \
	cached_rerun artifact_io ui real_pods runtime_start
bench: setup
	@$(PY) bench/import_time.py
	@$(PY) bench/admission_cost.py
	@eval "$$($(VENV)/bin/kubeline dev env)"; set -e; \
	for b in $(BENCH_CLUSTER); do echo "== bench/$$b.py"; $(PY) bench/$$b.py; done; \
	echo "== bench/peers/zenml_local.py"; $(PY) bench/peers/zenml_local.py; \
	echo "== bench/peers/argo.py (about 35 minutes)"; $(PY) bench/peers/argo.py
	@echo "== bench/s3_identity_overhead.py"; $(PY) bench/s3_identity_overhead.py

## Local cluster start-up, cold and warm: it needs the cluster's ports, so it stops the
## local cluster first and brings it up again after.
bench-startup: setup
	@$(VENV)/bin/kubeline dev down
	@$(PY) bench/cluster_startup.py
	@$(VENV)/bin/kubeline dev up
