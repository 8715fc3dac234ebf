"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL when
NORTHSTAR_TEST_DATABASE_URL names one), settings, the API client with keys, and a log
capture that the last test checks for leaked credentials."""

from __future__ import annotations

import gc
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from db_targets import ON_POSTGRES, PG_REQUIRED, PG_URL
from fastapi.dependencies import models as fastapi_dependency_models
from leak_guard import KNOWN_SECRETS, LOG_COLLECTOR  # noqa: F401 - re-exported for tests
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError

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


# ---- the garbage collector -----------------------------------------------------------------
# The suite builds thousands of apps, sandbox worlds and simulators, and Python's default
# collector thresholds had it spend about a quarter of its CPU time rescanning what was
# imported at start-up. What is loaded by the end of collection stays for the whole run, so
# it is frozen out of the collector's scans, and young objects are collected less often.
# Cycles are still collected; only how often changes.
GC_YOUNG_THRESHOLD = 10_000


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)


# FastAPI remembers, in three module-level caches of 4,096 entries each, whether each
# dependency callable is a coroutine or a generator. Every app the tests build has closures
# of its own, so those caches kept the last hundred or so apps (and their contexts and
# databases) alive: gigabytes by the end of the run, rescanned by every full collection and
# freed one by one at exit. Cleared after each test; each app fills them again as it runs.
_FASTAPI_CALLABLE_CACHES = tuple(
    cache
    for name in (
        "_is_gen_callable_cached",
        "_is_async_gen_callable_cached",
        "_is_coroutine_callable_cached",
    )
    if (cache := getattr(fastapi_dependency_models, name, None)) is not None
)


@pytest.fixture(autouse=True)
def _forget_finished_apps() -> Iterator[None]:
    yield
    for cache in _FASTAPI_CALLABLE_CACHES:
        cache.cache_clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if {"db", "module_settings"} & set(getattr(item, "fixturenames", ())):
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


_PUBLIC_TABLES = text(
    "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
)
_PUBLIC_SEQUENCES = text("SELECT sequencename FROM pg_sequences WHERE schemaname='public'")
_reset_engines: dict[str, Engine] = {}


def _emptied(url: str) -> str:
    """The PostgreSQL database at `url` with every table emptied and every id sequence back at
    its start (the schema stays), as `TRUNCATE ... RESTART IDENTITY` leaves it.

    Rows are deleted rather than truncated: on tables holding one test's few rows that takes
    a tenth of the time (TRUNCATE replaces every table's files). Foreign keys are not checked
    while everything goes (`session_replication_role`, which needs a superuser, as the test
    server's postgres is); without that right the tables are truncated as before."""
    engine = _reset_engines.get(url)
    if engine is None:
        engine = _reset_engines[url] = create_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in conn.execute(_PUBLIC_TABLES).scalars().all():
                conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - from pg_tables
            for sequence in conn.execute(_PUBLIC_SEQUENCES).scalars().all():
                conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    except ProgrammingError:  # not a superuser: TRUNCATE checks the keys itself
        with engine.begin() as conn:
            tables = conn.execute(_PUBLIC_TABLES).scalars().all()
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if ON_POSTGRES:
        return _emptied(request.getfixturevalue("_postgres_schema"))
    template: Path = request.getfixturevalue("_sqlite_template")
    path = tmp_path / "northstar.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def _postgres_module_database(_postgres_schema: str) -> str:
    """A second database on the test server, beside the per-test one, for `module_settings`:
    the per-test reset (`database_url`) never empties it under a module's shared world."""
    url = make_url(_postgres_schema)
    shared = url.set(database=f"{url.database}_module")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{shared.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{shared.database}"'))
    engine.dispose()
    shared_url = shared.render_as_string(hide_password=False)
    _migrate(shared_url)
    return shared_url


@pytest.fixture(scope="module")
def module_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings on a migrated, empty database of the test module's own, kept for all its
    tests: for a world that is costly to build (a sandbox sync) and that the module's tests
    only read. Tests that use it are marked `db` (run in the PostgreSQL pass too)."""
    folder = tmp_path_factory.mktemp("module")
    if ON_POSTGRES:
        url = _emptied(request.getfixturevalue("_postgres_module_database"))
    else:
        shutil.copy(request.getfixturevalue("_sqlite_template"), folder / "northstar.db")
        url = f"sqlite:///{folder / 'northstar.db'}"
    return _settings_for(url, dev_key_file=folder / "dev.key")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return _settings_for(database_url, dev_key_file=tmp_path / "dev.key")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()
