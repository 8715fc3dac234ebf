"""Which database the suite runs on: SQLite by default, PostgreSQL when
NORTHSTAR_TEST_DATABASE_URL names one (`make test` runs both passes).
NORTHSTAR_TEST_POSTGRES_REQUIRED=1 (set by CI) turns an unreachable server into a failure."""

from __future__ import annotations

import os

PG_URL = os.environ.get("NORTHSTAR_TEST_DATABASE_URL", "")
PG_REQUIRED = os.environ.get("NORTHSTAR_TEST_POSTGRES_REQUIRED") == "1"
ON_POSTGRES = PG_URL.startswith("postgresql")
