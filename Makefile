# AgentStream — set-up and entry points. `make test` and `make demo` do all set-up themselves:
# a virtualenv in .venv, the package with its dev extras, Kafka's jars from Maven Central.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The published contract that schemas/ must stay compatible with (CI: the previous commit of main).
SCHEMAS_REF ?= HEAD~1

.PHONY: help venv kafka-jars schemas-check test test-slow test-unit demo lint typecheck bench up down status clean

help:
	@echo "make test       unit + integration tests against a real local Kafka broker"
	@echo "make test-slow  chaos / soak tests (SIGKILL, rebalances, long runs)"
	@echo "make demo       the reference product end to end (DEMO_ARGS=--follow keeps it running)"
	@echo "make schemas-check  schemas/ against the previous commit (SCHEMAS_REF=ref)"
	@echo "make lint       ruff + mypy"
	@echo "make bench      benchmarks (figures printed and written to benchmarks/RESULTS.md)"
	@echo "make up|down|status   the development broker (agentstream dev ...)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

kafka-jars: venv
	$(BIN)/agentstream dev fetch

test: venv kafka-jars
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

schemas-check: venv
	$(BIN)/agentstream schemas check --against $(SCHEMAS_REF)

test-unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-slow: venv kafka-jars
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# The demo starts the local broker itself when none answers (and stops it again at the end);
# DEMO_ARGS=--follow keeps every service running until Ctrl-C.
DEMO_ARGS ?=
demo: venv kafka-jars
	$(BIN)/python -m services.demo.run $(DEMO_ARGS)

lint: venv
	$(BIN)/ruff check src tests services benchmarks
	$(BIN)/mypy

bench: venv kafka-jars
	$(BIN)/python benchmarks/run_all.py

up: venv kafka-jars
	$(BIN)/agentstream dev up
down: venv
	$(BIN)/agentstream dev down
status: venv
	$(BIN)/agentstream dev status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
