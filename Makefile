# Every target creates and uses .venv itself: only Python 3.11+ and make are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# What running needs (make demo, make serve), and that plus the developer tools (make test,
# make lint): each installed once, again when pyproject.toml or the lock changes.
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST := $(BIN)/pytest -q -p no:cacheprovider
CODE := app connectors tests migrations $(wildcard bench)
# Every version installed, pinned: `make install`, `make demo` and the Dockerfile install
# exactly these, `make audit` checks them for known vulnerabilities. After changing
# dependencies in pyproject.toml: `make lock`.
LOCK := requirements.lock
# Where pip-audit looks vulnerabilities up (OSV). No offline advisory database is published
# on PyPI, so where it cannot be reached the audit says so and is skipped, unless
# NORTHSTAR_AUDIT_REQUIRED=1 makes that a failure.
AUDIT_SERVICE := api.osv.dev

.PHONY: install install-runtime test test-sqlite test-postgres lint audit lock format serve demo \
	docker-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . -c $(LOCK)
	touch $(RUNTIME_STAMP)

# The developer tools come on top of what running needs, so a dev install serves too.
$(DEV_STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c $(LOCK)
	touch $(DEV_STAMP) $(RUNTIME_STAMP)

install-runtime: $(RUNTIME_STAMP)

install: $(DEV_STAMP)

lint: $(DEV_STAMP) audit
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy app connectors

audit: $(DEV_STAMP)
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

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

# Includes tests/app/test_schemathesis.py: Schemathesis over the whole API (every phase,
# stateful included, fixed seed) as an admin and as a reader, about a minute.
test-sqlite: $(DEV_STAMP)
	$(PYTEST)

# The database-facing tests again, on PostgreSQL. Without a server they are skipped, unless
# NORTHSTAR_TEST_POSTGRES_REQUIRED=1 (CI) makes that a failure.
test-postgres: $(DEV_STAMP)
	NORTHSTAR_TEST_DATABASE_URL=$(PG_URL) $(PYTEST) -m "db or postgres"

# Lint and the two test passes run side by side (much of the suite waits on simulated PSA
# latency, so two passes on two cores take little more than the longer one); each target's
# output is printed whole when it ends, and any failure fails `make test`.
test: $(DEV_STAMP)
	$(MAKE) --no-print-directory -j3 --output-sync=target lint test-sqlite test-postgres

serve: $(RUNTIME_STAMP)
	$(BIN)/northstar migrate
	$(BIN)/northstar serve

demo: $(RUNTIME_STAMP)
	$(BIN)/northstar demo

# Build the image and run compose.yaml (Northstar and PostgreSQL) until the health check
# passes, then tear it down. Without a Docker daemon: says so, and validates compose.yaml.
docker-test:
	sh tests/docker/smoke.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
