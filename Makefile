# One Makefile for humans and CI. `make run` and `make test` need nothing but Python 3.11.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit integration e2e bench chaos chaos-quick clean mutants

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml scripts/ensure-chromium.sh
	$(BIN)/pip install --quiet -e '.[dev]'
	@scripts/ensure-chromium.sh
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/zakops serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

# CI (`.ci/run`) runs this: the tests, then the quick chaos run (about 70 s),
# which fails like a test when a target is missed or PostgreSQL is required but missing.
test: lint typecheck
	$(BIN)/pytest -q
	$(BIN)/python -m chaos --quick

bench: $(STAMP)
	$(BIN)/python -m bench

# Mutation testing of domain/ and application/ (config: [tool.mutmut] in pyproject.toml) with the
# fast tests (tests/unit, application tests over fakes included). Not in CI: about 35 min for
# ~4,500 mutants with one child on a busy 2-core machine (MUTANT_CHILDREN=2 on an idle one).
# Results are kept in mutants/ and reused; `rm -rf mutants` starts over. The score script fails
# below the targets (domain 85%, application 75%) and lists survivors per function;
# `mutmut show NAME` prints one diff.
MUTANT_CHILDREN ?= 1
mutants: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,mutants]'
	$(BIN)/mutmut run --max-children $(MUTANT_CHILDREN)
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python scripts/mutation-score.py

# The chaos suite (chaos/): real servers killed, a PostgreSQL cluster of its own restarted and
# killed, hostile clients; a table of figures, exit 1 when a target is missed.
chaos: $(STAMP)
	$(BIN)/python -m chaos

chaos-quick: $(STAMP)
	$(BIN)/python -m chaos --quick

clean:
	rm -rf mutants $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
