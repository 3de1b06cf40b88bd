# media-server: the project's interface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
STACK_FILE ?=
VERBOSE ?=
JSON ?=
PYTEST_ARGS ?=
BASE ?=

CHECK_TARGET = $(if $(STACK_FILE),--stack-file $(STACK_FILE),--stack $(STACK))
# pin/outdated/upgrade: every root stack unless STACK or STACK_FILE is given on the command line
PIN_TARGET = $(if $(STACK_FILE),--stack-file $(STACK_FILE),$(if $(filter command line,$(origin STACK)),--stack $(STACK),))
APP ?=
TAG ?=
CHECK_JSON = $(if $(JSON),--json,)
CHECK_VERBOSE = $(if $(VERBOSE),--verbose,)


.PHONY: help setup setup-system check diff pin outdated upgrade test test-fast setup-calibreweb lint fmt bench bench-search bench-search-service mutate docs preview up clean pulumi-version

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed ## create .venv with pinned dependencies

CW_VENV := .venv-calibreweb
$(CW_VENV)/.installed: requirements-calibreweb.txt
	$(PYTHON) -m venv $(CW_VENV)
	$(CW_VENV)/bin/python -m pip install -q -r requirements-calibreweb.txt
	touch $@

setup-calibreweb: $(CW_VENV)/.installed ## the real Calibre-Web 0.6.25 in its own venv (the search connector's realtool test)

setup-system: ## install the real tools the tests drive (Debian packages; root) and the published schemas
	scripts/setup-system.sh
	scripts/fetch-schemas.sh

check: setup ## render a stack offline: make check STACK=prod | STACK_FILE=path [JSON=1] [VERBOSE=1]
	@$(PY) -m offline.check $(CHECK_TARGET) $(CHECK_JSON) $(CHECK_VERBOSE)

diff: setup ## what a change does, offline: make diff BASE=<git ref> [STACK=prod | STACK_FILE=path]
	@if [ -z "$(BASE)" ]; then echo "make diff needs BASE=<git ref>, e.g. BASE=origin/main" >&2; exit 2; fi
	@$(PY) -m offline.diff --base '$(BASE)' $(CHECK_TARGET)

pin: setup ## pin every enabled image's tag to the digest its registry serves (config/images.lock.json) [STACK=...]
	@$(PY) -m pins pin $(PIN_TARGET)

outdated: setup ## per app: the pinned tag and the newer releases its registry has [STACK=...]
	@$(PY) -m pins outdated $(PIN_TARGET)

upgrade: setup ## move one app's pin and print the offline diff: make upgrade APP=sonarr [TAG=4.0.17]
	@$(PY) -m pins upgrade --app '$(APP)' $(if $(TAG),--tag '$(TAG)',) $(PIN_TARGET)

lint: setup ## ruff lint + format check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: setup ## format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: setup setup-system setup-calibreweb lint ## everything: lint, unit, projection, policy and real-tool tests
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: setup ## unit tests only (no real tools)
	$(PY) -m pytest -m "not realtool" $(PYTEST_ARGS)

bench: setup ## offline check of prod vs a baseline registering as many resources
	$(PY) -m bench.check_bench

mutate: setup ## mutation testing of the guarding modules (cosmic-ray; <20 min on 2 cores): [MODULE=path] [SAMPLE=n]
	$(PY) -m tests.mutation.mutate $(if $(MODULE),--module $(MODULE),) $(if $(SAMPLE),--sample $(SAMPLE),)

docs: setup ## regenerate the configuration reference in README.md
	$(PY) -m config.reference README.md

policies/venv/.installed: policies/requirements.txt
	$(PYTHON) -m venv policies/venv
	policies/venv/bin/pip install -q -r policies/requirements.txt
	touch $@

pulumi-version: ## refuse a Pulumi CLI older than the program needs (replacement_trigger)
	@$(PYTHON) scripts/check_pulumi_version.py

preview: setup policies/venv/.installed pulumi-version ## pulumi preview with the policy pack (needs the Pulumi CLI)
	pulumi preview --stack $(STACK) --policy-pack policies

up: setup policies/venv/.installed pulumi-version ## pulumi up, gated by the policy pack (needs the Pulumi CLI; dev: local backend)
	@if [ "$(STACK)" = "dev" ] && ! pulumi whoami >/dev/null 2>&1; then pulumi login --local; fi
	pulumi stack select --create $(STACK)
	pulumi up --stack $(STACK) --policy-pack policies

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) $(CW_VENV) .pytest_cache .mypy_cache .ruff_cache

bench-search: setup ## the embedded search engine at 200,000 items vs a LIKE scan: build time, p50/p95, peak RSS (targets)
	$(PY) -m bench.search_bench

bench-search-service: setup ## the search service process over HTTP on a 200,000-item index: p50/p95, peak RSS (targets)
	$(PY) -m bench.search_service_bench
