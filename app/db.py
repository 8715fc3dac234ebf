"""Engine, sessions and the declarative base shared by every table."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import URL, DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


DATABASE_URL_EXAMPLES = (
    "postgresql://user:password@host:5432/northstar, or sqlite:///./northstar.db for a trial"
)
# PostgreSQL spellings other tools write (Heroku, libpq, psycopg2): all mean the same server,
# and Northstar ships the psycopg (3) driver.
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}


def normalise_database_url(url: str) -> str:
    """The URL Northstar connects with: `postgres://` and `postgresql://` (any spelling in
    `_POSTGRES_SCHEMES`) become `postgresql+psycopg://`. Raises ValueError, without the URL
    (it may hold a password), for anything that is not a PostgreSQL or SQLite address."""
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ValueError(f"not a database address; write it like {DATABASE_URL_EXAMPLES}") from None
    scheme = parsed.drivername.lower()
    if scheme in _SQLITE_SCHEMES:
        return parsed.render_as_string(hide_password=False)
    if scheme not in _POSTGRES_SCHEMES:
        raise ValueError(
            f"Northstar stores its data in PostgreSQL or SQLite, not {parsed.get_backend_name()}"
            f"; write it like {DATABASE_URL_EXAMPLES}"
        )
    if not parsed.database:
        raise ValueError(
            "names no database; end the address with the database's name, like "
            "postgresql://user:password@host:5432/northstar"
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def mask_database_url(url: str | URL) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database address)"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-backend settings Northstar relies on."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        # `timeout` is SQLite's busy timeout: a writer waits up to 30 s for another writer's
        # transaction to end (readers never wait: WAL). Request paths never write on a read
        # (`app.security.apikeys`): only syncs and admin changes ever wait for each other.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint every ~40 MB of WAL rather than SQLite's 4 MB: a sync rewrites the
            # same index pages page after page, and each checkpoint copied them again
            # (about 10 % of storing a backfill, bench/store.py). The file is cut back to
            # 64 MB after a checkpoint.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.execute("PRAGMA journal_size_limit=67108864")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


# A caller that finds every pooled connection in use waits this long before an error. The
# pools are sized so that this does not happen (see `Database`); it is a last resort.
POOL_TIMEOUT_S = 60


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed)
    )


class Database:
    """An engine and its session factory.

    `connections` is how many connections its users may hold at once, and the most it
    opens: half stay open in the pool, the rest are opened for a burst and closed after.
    The API sizes it from its concurrency limit, the scheduler from its sources in parallel
    (`app.api.context`), so no caller waits for a connection; None keeps SQLAlchemy's
    default (5 kept, 10 more for a burst).

    `session_info` is handed to every session as `Session.info` (the API's sessions find
    the recorder of API key use there: `app.security.apikeys`).
    """

    def __init__(self, url: str, *, connections: int | None = None) -> None:
        self.url = url
        pool: dict[str, Any] = {}
        if connections is not None and not _in_memory(url):
            kept = max(1, math.ceil(connections / 2))
            pool = {
                "pool_size": kept,
                "max_overflow": max(0, connections - kept),
                "pool_timeout": POOL_TIMEOUT_S,
            }
        self.engine = make_engine(url, **pool)
        self.session_info: dict[str, Any] = {}
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info=self.session_info)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


@lru_cache
def get_database(url: str) -> Database:
    return Database(url)
