# Every target creates and uses .venv itself: only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install test test-sqlite test-postgres lint serve demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check app connectors tests bench migrations
	$(BIN)/ruff format --check app connectors tests bench migrations
	$(BIN)/mypy app connectors

test-sqlite: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

# NORTHSTAR_TEST_POSTGRES_REQUIRED=1 (set by .ci/run) turns a missing server into a failure.
test-postgres: $(STAMP)
	NORTHSTAR_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -p no:cacheprovider -m postgres

test: lint test-sqlite test-postgres

serve: $(STAMP)
	$(BIN)/northstar migrate
	$(BIN)/northstar serve

demo: $(STAMP)
	$(BIN)/northstar demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
