"""Before a command touches the database: can it be reached, does it exist (`northstar
migrate` creates a missing PostgreSQL database when the role may), is its schema current.

Every problem is a `DatabaseProblem`: one line for the owner that names
NORTHSTAR_DATABASE_URL, with the password masked, and what to do about it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, inspect, make_url, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.db import make_engine, mask_database_url, normalise_database_url

if TYPE_CHECKING:
    import psycopg

SETTING = "NORTHSTAR_DATABASE_URL"
# An address that does not answer fails within this, not after the operating system's
# TCP timeout (minutes). A `connect_timeout` in the URL wins.
CONNECT_TIMEOUT_S = 10
# Where the role connects to run CREATE DATABASE: every cluster has one of these.
MAINTENANCE_DATABASES = ("postgres", "template1")


class DatabaseProblem(Exception):
    """A problem with the database the settings name, worded for the owner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def prepare_database(url: str, *, create_missing: bool, expect_schema: bool) -> list[str]:
    """Raise `DatabaseProblem` unless `url` can be used; returns what was done, as lines to
    show (e.g. the database created). `create_missing`: create a missing PostgreSQL
    database (migrate). `expect_schema`: the schema must be current (every other command)."""
    url = normalise_database_url(url)
    parsed = make_url(url)
    done: list[str] = []
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(parsed, expect_schema=expect_schema)
        if expect_schema:
            _check_schema(parsed)
        return done
    if not _connect_once(parsed):
        if not create_missing:
            raise DatabaseProblem(describe_database_error(_MissingDatabase(parsed), parsed))
        done.append(_create_database(parsed))
    if expect_schema:
        _check_schema(parsed)
    return done


class _MissingDatabase(Exception):
    def __init__(self, url: URL) -> None:
        super().__init__(f'database "{url.database}" does not exist')


def describe_database_error(exc: BaseException, url: str | URL) -> str:
    """One line for an error that came from the database driver."""
    shown = mask_database_url(url)
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    detail = _first_line(original)
    try:
        parsed: URL | None = make_url(normalise_database_url(str(make_url(url))))
    except (ValueError, SQLAlchemyError):
        parsed = None
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}" if parsed else shown
    user = parsed.username if parsed and parsed.username else "(default)"
    kind = _kind(detail)
    if kind == "missing_database":
        name = parsed.database if parsed else "?"
        return (
            f'The PostgreSQL database "{name}" does not exist ({SETTING}={shown}). '
            "Run `northstar migrate`: it creates it when the user may."
        )
    if kind == "password":
        return (
            f"PostgreSQL at {where} refused the password of user {user} ({SETTING}={shown}). "
            "Put the right password in the address."
        )
    if kind == "missing_role":
        return (
            f"PostgreSQL at {where} has no user {user} ({SETTING}={shown}). Create it "
            f'(CREATE ROLE "{user}" LOGIN PASSWORD ...) or put an existing user in the address.'
        )
    if kind == "not_allowed":
        return (
            f"PostgreSQL at {where} does not let user {user} connect from here: {detail} "
            f"({SETTING}={shown}). Allow it in the server's pg_hba.conf."
        )
    if kind == "unreachable":
        return (
            f"Cannot reach PostgreSQL at {where} ({SETTING}={shown}): {detail}. Is the server "
            "running, and are the host and port in the address right?"
        )
    if kind == "not_postgres":
        return (
            f"Something answers at {where}, but not as PostgreSQL ({SETTING}={shown}): "
            f"{detail}. Check the host and port in the address."
        )
    if kind == "unknown_host":
        return (
            f"The database host in {SETTING} cannot be found ({shown}): {detail}. "
            "Check the host name in the address."
        )
    if getattr(original, "sqlstate", None) == "42501":
        return (
            f"The database refused user {user}: {detail} ({SETTING}={shown}). Run as the "
            "database's owner, or grant the user what the message names."
        )
    return f"The database ({SETTING}={shown}) reported a problem: {detail}"


# libpq's words (the server's, in English) for each kind of connection problem.
_KINDS = (
    ("missing_database", r'^database ".*" does not exist'),
    ("password", r"password authentication failed|no password supplied|password is required"),
    ("missing_role", r'^role ".*" does not exist'),
    ("not_allowed", r"pg_hba\.conf"),
    (
        "unreachable",
        r"connection refused|timeout expired|timed out|no route to host|"
        r"network is unreachable|could not connect|no such file or directory",
    ),
    ("not_postgres", r"ssl negotiation|invalid response|server closed the connection"),
    ("unknown_host", r"resolve host|name or service not known|could not translate host"),
)


def _kind(detail: str) -> str | None:
    for kind, pattern in _KINDS:
        if re.search(pattern, detail, re.IGNORECASE):
            return kind
    return None


def _first_line(exc: BaseException) -> str:
    message = str(exc).strip() or type(exc).__name__
    # libpq: 'connection failed: connection to server at "h", port 5432 failed: FATAL:  ...'
    message = message.splitlines()[0]
    message = re.sub(r"^connection failed: ", "", message)
    message = re.sub(r"^connection to server (at|on) .*? failed: ", "", message)
    return re.sub(r"^FATAL:\s+", "", message).strip()


def _engine(url: URL) -> Engine:
    """An engine for one check: no pool kept, and a connect timeout on PostgreSQL."""
    if url.get_backend_name() == "sqlite" or "connect_timeout" in url.query:
        return make_engine(url.render_as_string(hide_password=False), poolclass=NullPool)
    return create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )


def _libpq_connect(url: URL, **options: Any) -> psycopg.Connection[Any]:
    """A plain psycopg connection: its errors carry the server's words and SQLSTATE, and it
    needs no SQLAlchemy dialect set-up (which fails on a database that is not UTF8)."""
    import psycopg

    # Keywords as SQLAlchemy's own psycopg dialect passes them (an address string would
    # need every space and quote of a database name percent-encoded).
    keywords: dict[str, Any] = url.translate_connect_args(username="user", database="dbname")
    keywords.update({key: str(value) for key, value in url.query.items()})
    keywords.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    return psycopg.connect(**keywords, **options)


def _connect_once(url: URL) -> bool:
    """True when the database answered; False when the server says it does not exist."""
    import psycopg

    try:
        with _libpq_connect(url) as conn:
            encoding = conn.info.parameter_status("server_encoding") or "?"
    except psycopg.Error as exc:
        if _kind(_first_line(exc)) == "missing_database":
            return False
        raise DatabaseProblem(describe_database_error(exc, url)) from None
    if encoding.upper() not in ("UTF8", "UTF-8"):
        name = _quoted(url.database or "")
        raise DatabaseProblem(
            f"The PostgreSQL database {name} stores text as {encoding}; Northstar needs UTF8 "
            f"({SETTING}={mask_database_url(url)}). Create a new one with: CREATE DATABASE "
            f"{name} ENCODING 'UTF8' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';"
        )
    return True


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _create_database(url: URL) -> str:
    """CREATE DATABASE from a maintenance database, as the same user; in UTF8 even where
    the server's template is not (a cluster made under the C locale is SQL_ASCII)."""
    import psycopg
    from psycopg import sql

    name = url.database or ""
    shown = mask_database_url(url)
    user = url.username or "(default)"
    last_problem = ""
    for maintenance in MAINTENANCE_DATABASES:
        try:
            with _libpq_connect(url.set(database=maintenance), autocommit=True) as conn:
                row = conn.execute(
                    "SELECT pg_encoding_to_char(encoding)::bytea FROM pg_database "
                    "WHERE datname = 'template1'"
                ).fetchone()
                statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                if not row or bytes(row[0]) != b"UTF8":
                    statement += sql.SQL(
                        " ENCODING 'UTF8' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
                    )
                conn.execute(statement)
            return f'Created the PostgreSQL database "{name}".'
        except psycopg.errors.DuplicateDatabase:  # created meanwhile by another migrate
            return f'The PostgreSQL database "{name}" was created meanwhile.'
        except psycopg.errors.InsufficientPrivilege:
            raise DatabaseProblem(
                f'The PostgreSQL database "{name}" does not exist and user {user} may not '
                f"create databases ({SETTING}={shown}). Ask the server's administrator to "
                f"run: CREATE DATABASE {_quoted(name)} OWNER {_quoted(user)}; then run "
                "`northstar migrate` again."
            ) from None
        except psycopg.Error as exc:
            last_problem = _first_line(exc)
    raise DatabaseProblem(
        f'The PostgreSQL database "{name}" does not exist, and creating it failed: '
        f"{last_problem} ({SETTING}={shown}). Create it, then run `northstar migrate` again."
    )


def _check_sqlite_file(url: URL, *, expect_schema: bool) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    path = Path(database).expanduser().absolute()
    if not path.parent.is_dir():
        raise DatabaseProblem(
            f"The folder for the SQLite file in {SETTING} does not exist ({path.parent}). "
            "Create it, or point the setting elsewhere."
        )
    if expect_schema and not path.exists():
        raise DatabaseProblem(
            f"There is no Northstar database at {path} yet ({SETTING}). "
            "Run `northstar migrate` first."
        )


def _check_schema(url: URL) -> None:
    from alembic.script import ScriptDirectory

    import migrations

    shown = mask_database_url(url)
    scripts = ScriptDirectory(str(Path(migrations.__file__).parent))
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            current: set[str] = set()
            if inspect(conn).has_table("alembic_version"):
                current = set(
                    conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
                )
    except SQLAlchemyError as exc:
        raise DatabaseProblem(describe_database_error(exc, url)) from None
    finally:
        engine.dispose()
    if not current:
        raise DatabaseProblem(
            f"The database has no Northstar tables yet ({SETTING}={shown}). "
            "Run `northstar migrate` first."
        )
    if current == set(scripts.get_heads()):
        return
    known = {revision.revision for revision in scripts.walk_revisions()}
    if current - known:
        raise DatabaseProblem(
            f"The database was upgraded by a newer Northstar than this one ({SETTING}="
            f"{shown}). Run that version, or restore a backup taken before the upgrade."
        )
    raise DatabaseProblem(
        f"The database's schema is older than this Northstar ({SETTING}={shown}). "
        "Run `northstar migrate` to upgrade it (take a backup first)."
    )
