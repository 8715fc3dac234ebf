"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL when
NORTHSTAR_TEST_DATABASE_URL names one), settings, the API client with keys, and a log
capture that the last test checks for leaked credentials."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from db_targets import ON_POSTGRES, PG_REQUIRED, PG_URL
from leak_guard import KNOWN_SECRETS, LOG_COLLECTOR  # noqa: F401 - re-exported for tests
from sqlalchemy import create_engine, text

from app.db import Database
from app.logging import configure_logging
from app.settings import Settings


@pytest.fixture(autouse=True)
def _log_everything() -> None:
    """Some commands quieten the root logger; every test starts from DEBUG again so the
    leak check sees every line."""
    logging.getLogger().setLevel(logging.DEBUG)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    configure_logging(log_format="json", level="DEBUG")
    root = logging.getLogger()
    LOG_COLLECTOR.setFormatter(root.handlers[-1].formatter)
    root.addHandler(LOG_COLLECTOR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
    # The leak check reads what every other test logged, so it runs last.
    items.sort(key=lambda item: "test_no_secret_reached_any_log" in item.nodeid)


# ---- databases ---------------------------------------------------------------------------


def _migrate(url: str) -> None:
    from app.cli import migrate_database

    migrate_database(_settings_for(url))


def _settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "encryption_key": TEST_KEY,
        "scheduler_enabled": False,
        "log_format": "json",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


TEST_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def _postgres_schema() -> str:
    try:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as exc:
        message = f"PostgreSQL at NORTHSTAR_TEST_DATABASE_URL is not reachable: {exc}"
        if PG_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    _migrate(PG_URL)
    return PG_URL


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if ON_POSTGRES:
        url: str = request.getfixturevalue("_postgres_schema")
        engine = create_engine(url)
        with engine.begin() as conn:
            tables = (
                conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname='public' "
                        "AND tablename <> 'alembic_version'"
                    )
                )
                .scalars()
                .all()
            )
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return url
    template: Path = request.getfixturevalue("_sqlite_template")
    path = tmp_path / "northstar.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return _settings_for(database_url, dev_key_file=tmp_path / "dev.key")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()
