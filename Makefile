# LiveGuard: every command a newcomer needs. `make test` and `make demo` set everything up themselves.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export SAM_CLI_TELEMETRY := 0
# sam and boto3 want a region; nothing here talks to real AWS.
export AWS_DEFAULT_REGION ?= us-east-1

VENV := .venv
BIN := $(VENV)/bin
# One Python everywhere: 3.13, as the Lambda runtime. Take python3.13 from PATH (pyenv shims that
# cannot run it are skipped), else pyenv's own 3.13.x, else $PYTHON313 if the user points at one.
PYTHON313 ?= $(shell \
  for c in python3.13 $$(ls -d "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV); do \
    "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 && { command -v "$$c"; break; }; \
  done)
# sam build's python3.13 workflow looks for python3.13 on PATH: the venv provides it.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help python venv test lint typecheck template build unit bench demo events clean

help:
	@echo "make test   set up .venv (Python 3.13, pinned deps), then lint, typecheck, template checks, pytest"
	@echo "make demo   the whole app on this machine (local stack + Tencent emulator) playing a moderation scenario"
	@echo "make bench  benchmarks under bench/ (ratios against a baseline measured in the same run)"

python:
	@test -n "$(PYTHON313)" || { echo "make: Python 3.13 not found: put python3.13 on PATH (or pyenv install 3.13), or run make PYTHON313=/path/to/python3.13" >&2; exit 1; }

$(BIN)/.installed: pyproject.toml constraints.txt layers/liveguard/requirements.txt | python
	@test -x $(BIN)/python || "$(PYTHON313)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==26.0.1
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(BIN)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

template: venv
	$(BIN)/sam validate --lint
	$(BIN)/sam validate --region us-east-1
	$(BIN)/sam build --cached --parallel

build: template

unit: venv
	$(BIN)/pytest

test: lint typecheck template unit

bench: venv
	@status=0; for bench in client ingress reload moderation matching floods e2e scale; do \
	  echo "== bench/$$bench.py"; $(BIN)/python bench/$$bench.py || status=1; \
	done; exit $$status

events: venv
	$(BIN)/python -m liveguard_local.events

demo: venv
	$(BIN)/python -m liveguard_local.demo

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache
