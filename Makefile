# Every target creates and uses .venv itself: only Python 3.11+ and make are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST := $(BIN)/pytest -q -p no:cacheprovider
CODE := app connectors tests migrations $(wildcard bench)
# Every version installed, pinned: `make install` installs exactly these, `make audit` checks
# them for known vulnerabilities. After changing dependencies in pyproject.toml: `make lock`.
LOCK := requirements.lock
# Where pip-audit looks vulnerabilities up (OSV). No offline advisory database is published
# on PyPI, so where it cannot be reached the audit says so and is skipped, unless
# NORTHSTAR_AUDIT_REQUIRED=1 makes that a failure.
AUDIT_SERVICE := api.osv.dev

.PHONY: install test test-sqlite test-postgres lint audit lock format serve demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c $(LOCK)
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP) audit
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy app connectors

audit: $(STAMP)
	@if $(BIN)/python -c "import socket; socket.create_connection(('$(AUDIT_SERVICE)', 443), 5).close()" 2>/dev/null; then \
		$(BIN)/pip-audit --strict --vulnerability-service osv --progress-spinner off --disable-pip --no-deps -r $(LOCK); \
	elif [ "$${NORTHSTAR_AUDIT_REQUIRED:-0}" = 1 ]; then \
		echo "pip-audit: $(AUDIT_SERVICE) cannot be reached, and NORTHSTAR_AUDIT_REQUIRED=1."; exit 1; \
	else \
		echo "pip-audit skipped: $(AUDIT_SERVICE) cannot be reached from here. Run 'make audit' where it can be; $(LOCK) pins what it checks."; \
	fi

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	{ echo "# Every package of the dev install, pinned (make lock). Install: pip install -e '.[dev]' -c $(LOCK)"; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > $(LOCK)

format: $(STAMP)
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

# Includes tests/app/test_schemathesis.py: Schemathesis over the whole API (every phase,
# stateful included, fixed seed) as an admin and as a reader, about a minute.
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
