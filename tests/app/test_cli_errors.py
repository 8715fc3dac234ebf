"""A settings or database problem, in any `northstar` command, is one line on stderr that
names the variable to fix, never the password, and a non-zero exit: no traceback.

Against what an owner meets: a malformed key or address, a port nothing listens on, a server
that refuses the password (a loopback server that answers as PostgreSQL does), and, in the
PostgreSQL pass, a missing database that `northstar migrate` creates (or cannot, when the
user may not create databases) and a database without Northstar's tables.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from db_targets import ON_POSTGRES, PG_URL
from sqlalchemy import URL, create_engine, make_url, text

from app.cli import main
from app.settings import Settings, get_settings

PASSWORD = "s3cret-pw-Zq"
KEY = Fernet.generate_key().decode()

# Every command that reads the settings and the database, as a person would type it.
COMMANDS: list[list[str]] = [
    ["migrate"],
    ["serve"],
    ["scheduler"],
    ["sync", "Northwind"],
    ["backfill", "Northwind", "--since", "2025-01-01"],
    ["source", "list"],
    ["apikey", "list"],
    ["kpis", "rebuild"],
    ["demo", "--no-serve"],
    ["bi", "create-readonly-user"],
]
COMMAND_IDS = [" ".join(argv[:2]) for argv in COMMANDS]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Only the settings a test sets; run from an empty folder (no .env, no dev key)."""
    for name in list(os.environ):
        if name.startswith("NORTHSTAR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NORTHSTAR_ENCRYPTION_KEY", KEY)
    monkeypatch.setenv("NORTHSTAR_LOG_FORMAT", "json")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def run(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("argv", COMMANDS, ids=COMMAND_IDS)
def test_an_invalid_encryption_key_is_one_line_in_every_command(
    argv: list[str], environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("NORTHSTAR_ENCRYPTION_KEY", "not-a-key-Zq")

    code, out, err = run(argv, capsys)

    assert code == 2
    line = one_line(err)
    assert line.startswith("Settings problem: NORTHSTAR_ENCRYPTION_KEY: not a valid")
    assert "northstar genkey" in line
    assert "not-a-key-Zq" not in out + err


def test_which_of_several_rotated_keys_is_wrong_is_named(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("NORTHSTAR_ENCRYPTION_KEY", f"{KEY},broken-Zq")

    code, _, err = run(["migrate"], capsys)

    assert code == 2
    assert "key 2 of the 2 given" in one_line(err)
    assert KEY not in err and "broken-Zq" not in err


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"mysql://northstar:{PASSWORD}@db/northstar", "PostgreSQL or SQLite, not mysql"),
        (f"northstar:{PASSWORD}@db/northstar", "not a database address"),
        (f"postgresql://northstar:{PASSWORD}@db", "names no database"),
    ],
    ids=["other-database", "not-a-url", "no-database-name"],
)
def test_a_bad_database_address_is_one_line_without_its_password(
    url: str, says: str, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("NORTHSTAR_DATABASE_URL", url)

    code, out, err = run(["source", "list"], capsys)

    assert code == 2
    line = one_line(err)
    assert line.startswith("Settings problem: NORTHSTAR_DATABASE_URL: ") and says in line
    assert PASSWORD not in out + err


def test_production_without_a_database_address_is_one_line(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("NORTHSTAR_ENVIRONMENT", "production")

    code, _, err = run(["serve"], capsys)

    assert code == 2
    line = one_line(err)
    assert line.startswith("Settings problem: NORTHSTAR_DATABASE_URL is required outside")
    assert "sqlite:////data/northstar.db" in line


@pytest.mark.parametrize(
    "scheme", ["postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"]
)
def test_every_spelling_of_a_postgresql_address_means_psycopg(scheme: str) -> None:
    url = f"{scheme}://northstar:{PASSWORD}@db:5432/northstar?sslmode=require"

    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]

    expected = f"postgresql+psycopg://northstar:{PASSWORD}@db:5432/northstar?sslmode=require"
    assert settings.database_url == expected


def test_a_missing_sqlite_folder_is_named(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    environment.setenv("NORTHSTAR_DATABASE_URL", f"sqlite:///{tmp_path}/gone/northstar.db")

    code, _, err = run(["migrate"], capsys)

    assert code == 2
    assert "folder for the SQLite file in NORTHSTAR_DATABASE_URL does not exist" in one_line(err)


def test_serving_a_database_never_migrated_says_to_migrate_first(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    environment.setenv("NORTHSTAR_DATABASE_URL", f"sqlite:///{tmp_path}/northstar.db")

    code, _, err = run(["serve"], capsys)

    assert code == 2
    assert "Run `northstar migrate` first" in one_line(err)
    assert not (tmp_path / "northstar.db").exists()  # nothing created by looking


# ---- a server that does not answer, or refuses -------------------------------------------


@pytest.mark.parametrize("argv", COMMANDS, ids=COMMAND_IDS)
def test_an_unreachable_server_is_one_line_in_every_command(
    argv: list[str], environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    url = f"postgres://northstar:{PASSWORD}@127.0.0.1:{port}/northstar"
    environment.setenv("NORTHSTAR_DATABASE_URL", url)

    code, out, err = run(argv, capsys)

    assert code == 2
    line = one_line(err)
    assert line.startswith(f"Cannot reach PostgreSQL at 127.0.0.1:{port} (NORTHSTAR_DATABASE_URL=")
    assert "northstar:***@" in line
    assert PASSWORD not in out + err


@contextmanager
def postgres_refusing_passwords() -> Iterator[int]:
    """A loopback server that answers a PostgreSQL client's startup as a server whose
    password check failed does (an ErrorResponse, SQLSTATE 28P01); yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            while True:
                header = conn.recv(8, socket.MSG_WAITALL)
                if len(header) < 8:
                    return
                length, code = struct.unpack("!ii", header)
                if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: not offered
                    conn.sendall(b"N")
                    continue
                conn.recv(length - 8, socket.MSG_WAITALL)  # the startup message's parameters
                fields = b"".join(
                    kind + value.encode() + b"\0"
                    for kind, value in (
                        (b"S", "FATAL"),
                        (b"V", "FATAL"),
                        (b"C", "28P01"),
                        (b"M", 'password authentication failed for user "northstar"'),
                    )
                )
                body = fields + b"\0"
                conn.sendall(b"E" + struct.pack("!i", len(body) + 4) + body)
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.mark.parametrize("argv", [["migrate"], ["serve"], ["sync", "Northwind"]], ids=str)
def test_a_refused_password_is_one_line_without_the_password(
    argv: list[str], environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with postgres_refusing_passwords() as port:
        url = f"postgresql://northstar:{PASSWORD}@127.0.0.1:{port}/northstar"
        environment.setenv("NORTHSTAR_DATABASE_URL", url)
        code, out, err = run(argv, capsys)

    assert code == 2
    line = one_line(err)
    assert line.startswith(f"PostgreSQL at 127.0.0.1:{port} refused the password of user northstar")
    assert "NORTHSTAR_DATABASE_URL=" in line
    assert PASSWORD not in out + err


# ---- a real PostgreSQL (the PostgreSQL pass) ----------------------------------------------

needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs the PostgreSQL pass's server")


def server_url(**parts: str) -> URL:
    """The test server's address with another user or database."""
    return make_url(PG_URL).set(**parts)  # type: ignore[arg-type]


def admin_execute(statement: str) -> None:
    engine = create_engine(server_url(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def database_exists(name: str) -> bool:
    engine = create_engine(server_url(database="postgres"))
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
    finally:
        engine.dispose()
    return found is not None


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture
def missing_database() -> Iterator[str]:
    """A database name no one uses, with a space, a hyphen and a quote; dropped after."""
    name = f'ns-cli "test" {uuid.uuid4().hex[:10]}'
    yield name
    admin_execute(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)")


@pytest.mark.postgres
@needs_postgres
def test_migrate_creates_a_missing_database_from_a_postgres_url(
    missing_database: str,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = server_url(database=missing_database).set(drivername="postgres")
    environment.setenv("NORTHSTAR_DATABASE_URL", url.render_as_string(hide_password=False))
    assert not database_exists(missing_database)

    code, _, err = run(["migrate"], capsys)

    assert code == 0, err
    assert f'Created the PostgreSQL database "{missing_database}".' in err
    assert "Database is up to date." in err
    assert database_exists(missing_database)
    # Now every command finds it ready; migrating again creates nothing.
    assert run(["apikey", "list"], capsys)[0] == 0
    code, _, err = run(["migrate"], capsys)
    assert code == 0 and "Created" not in err


@pytest.fixture
def role_without_createdb() -> Iterator[str]:
    name = f"ns_cli_nocreate_{uuid.uuid4().hex[:8]}"
    admin_execute(f"CREATE ROLE {name} LOGIN NOCREATEDB")
    yield name
    admin_execute(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.postgres
@needs_postgres
def test_migrate_says_what_to_run_when_the_user_may_not_create_the_database(
    missing_database: str,
    role_without_createdb: str,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = server_url(username=role_without_createdb, password=PASSWORD, database=missing_database)
    environment.setenv("NORTHSTAR_DATABASE_URL", url.render_as_string(hide_password=False))

    code, out, err = run(["migrate"], capsys)

    assert code == 2
    line = one_line(err)
    assert f"user {role_without_createdb} may not create databases" in line
    statement = f'CREATE DATABASE {quoted(missing_database)} OWNER "{role_without_createdb}";'
    assert f"Ask the server's administrator to run: {statement}" in line
    assert PASSWORD not in out + err
    assert not database_exists(missing_database)


@pytest.mark.postgres
@needs_postgres
def test_other_commands_on_a_missing_database_say_migrate_creates_it(
    missing_database: str,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = server_url(database=missing_database)
    environment.setenv("NORTHSTAR_DATABASE_URL", url.render_as_string(hide_password=False))

    code, _, err = run(["serve"], capsys)

    assert code == 2
    assert "does not exist" in one_line(err) and "northstar migrate" in err
    assert not database_exists(missing_database)


@pytest.mark.postgres
@needs_postgres
def test_a_database_without_northstar_tables_says_to_migrate_first(
    missing_database: str,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin_execute(f"CREATE DATABASE {quoted(missing_database)}")
    url = server_url(database=missing_database)
    environment.setenv("NORTHSTAR_DATABASE_URL", url.render_as_string(hide_password=False))

    code, _, err = run(["source", "list"], capsys)

    assert code == 2
    assert "has no Northstar tables yet" in one_line(err)


@pytest.mark.postgres
@needs_postgres
def test_a_database_that_is_not_utf8_says_how_to_make_one_that_is(
    missing_database: str,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin_execute(
        f"CREATE DATABASE {quoted(missing_database)} ENCODING 'SQL_ASCII' TEMPLATE template0 "
        "LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    url = server_url(database=missing_database)
    environment.setenv("NORTHSTAR_DATABASE_URL", url.render_as_string(hide_password=False))

    code, _, err = run(["migrate"], capsys)

    assert code == 2
    line = one_line(err)
    assert "stores text as SQL_ASCII; Northstar needs UTF8" in line
    assert "ENCODING 'UTF8' TEMPLATE template0" in line
