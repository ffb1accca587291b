# sockshop-incidents: the README's commands. Everything installs into .venv from PyPI.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_HOME := $(CURDIR)/.ansible

PLAYBOOKS := $(wildcard playbooks/*.yml)
MODULES   := $(basename $(notdir $(filter-out %/__init__.py,$(wildcard plugins/modules/*.py))))
SCENARIOS := $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
# The real programs the local cluster runs (Debian's packages; scripts/install-servers): Sock Shop's datastores and
# broker, Prometheus (its promtool checks the alerting rules) and curl (the curl of `kubectl exec` and `kubectl run
# --image=curlimages/curl`, kubesim/toolbox).
SERVER_PACKAGES := mariadb-server redis-server rabbitmq-server prometheus curl

.PHONY: help setup demo catalog test lint unit integration e2e molecule bench kcore-conformance cluster-up cluster-down cluster-status clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv (Python 3.11+), install everything from PyPI, and the real servers from Debian.
	@scripts/install-servers --bin $(BIN) $(SERVER_PACKAGES)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@mkdir -p .ansible/tmp .ansible/collections
	@touch $@

demo: setup ## Start the local cluster, provision Sock Shop, run INCIDENT-6 through all phases, print the report.
	@was_running=$$($(BIN)/python -m kubesim status >/dev/null 2>&1 && echo yes); \
	trap 'if [ -z "$$was_running" ] && [ -z "$(KEEP_CLUSTER)" ]; then $(BIN)/python -m kubesim down; \
	      else echo "cluster left running: export KUBECONFIG=$(CURDIR)/.cluster/kubeconfig"; fi' EXIT; \
	$(BIN)/ansible-playbook playbooks/provision.yml && \
	$(BIN)/ansible-playbook playbooks/incident-6.yml -e phase=all && \
	$(BIN)/python scripts/report_summary.py reports --incident 6

catalog: setup ## Start the local cluster, provision Sock Shop, run every incident (phase=all), one line each.
	@was_running=$$($(BIN)/python -m kubesim status >/dev/null 2>&1 && echo yes); \
	trap 'if [ -z "$$was_running" ] && [ -z "$(KEEP_CLUSTER)" ]; then $(BIN)/python -m kubesim down; \
	      else echo "cluster left running: export KUBECONFIG=$(CURDIR)/.cluster/kubeconfig"; fi' EXIT; \
	$(BIN)/ansible-playbook playbooks/provision.yml >/dev/null && \
	$(BIN)/python scripts/catalog.py

test: setup lint ## Run every check and test (lint, unit, integration, end to end, Molecule).
	$(BIN)/pytest -q -n 2 --dist loadfile
	$(MAKE) --no-print-directory molecule

lint: setup ## ansible-lint, yamllint, ruff, mypy, syntax-check every playbook, ansible-doc every module.
	$(BIN)/ansible-lint -q
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@for p in $(PLAYBOOKS); do $(BIN)/ansible-playbook --syntax-check $$p >/dev/null || { echo "syntax-check failed: $$p"; exit 1; }; done; echo "syntax-check: $(words $(PLAYBOOKS)) playbooks ok"
	@for m in $(MODULES); do $(BIN)/ansible-doc -t module $$m >/dev/null || { echo "ansible-doc failed: $$m"; exit 1; }; done; echo "ansible-doc: $(words $(MODULES)) modules ok"

unit: setup ## Unit tests only.
	$(BIN)/pytest -q tests/unit

integration: setup ## Integration tests: real clients against a fresh embedded cluster.
	$(BIN)/pytest -q -m integration

e2e: setup ## End-to-end tests (playbooks against the embedded cluster).
	$(BIN)/pytest -q -m slow

molecule: setup ## Molecule scenarios against the local cluster.
	@for s in $(SCENARIOS); do $(BIN)/molecule test -s $$s || exit 1; done; echo "molecule: $(words $(SCENARIOS)) scenarios ok"

bench: setup ## Print the performance figures the issues name.
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

kcore-conformance: setup ## Run kubernetes.core's own integration targets against the embedded cluster (KCORE=<checkout>).
	@test -n "$(KCORE)" || { echo "usage: make kcore-conformance KCORE=<path of a kubernetes.core clone>"; exit 2; }
	$(BIN)/python scripts/kcore_conformance.py $(KCORE) $(TARGETS)

cluster-up: setup ## Start the embedded cluster in the background.
	$(BIN)/python -m kubesim up

cluster-down: ## Stop the embedded cluster and every process it started.
	@test -x $(BIN)/python && $(BIN)/python -m kubesim down || true

cluster-status: ## Show what the embedded cluster runs.
	$(BIN)/python -m kubesim status

clean: cluster-down ## Remove the venv, cluster state and caches.
	rm -rf $(VENV) .cluster .ansible .pytest_cache .mypy_cache .ruff_cache
