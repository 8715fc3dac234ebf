# Every target creates and uses .venv itself: only Python 3.11+ and make are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST := $(BIN)/pytest -q -p no:cacheprovider
CODE := app connectors tests migrations $(wildcard bench)

.PHONY: install test test-sqlite test-postgres lint format serve demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy app connectors

format: $(STAMP)
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

test-sqlite: $(STAMP)
	$(PYTEST)

# The database-facing tests again, on PostgreSQL. Without a server they are skipped, unless
# NORTHSTAR_TEST_POSTGRES_REQUIRED=1 (CI) makes that a failure.
test-postgres: $(STAMP)
	NORTHSTAR_TEST_DATABASE_URL=$(PG_URL) $(PYTEST) -m "db or postgres"

test: lint test-sqlite test-postgres

serve: $(STAMP)
	$(BIN)/northstar migrate
	$(BIN)/northstar serve

demo: $(STAMP)
	$(BIN)/northstar demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
