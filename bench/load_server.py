"""The service under test of bench/load.py: a fresh store, and `northstar serve` on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from app.cli import migrate_database
from app.db import Database
from app.goals.examples import seed_example_plan, shift_months
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings


class Store:
    """A fresh database for one phase: a SQLite file, or a PostgreSQL database of its own."""

    def __init__(self, kind: str, workdir: Path, name: str, pg_server: str) -> None:
        self.kind, self.pg_server = kind, pg_server
        self.pg_name = f"northstar_load_{name}"
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / f'{name}.db'}"
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            self._admin(f'CREATE DATABASE "{self.pg_name}"')
            self.url = f"{pg_server}/{self.pg_name}"

    def _admin(self, sql: str) -> None:
        engine = create_engine(f"{self.pg_server}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()

    def drop(self) -> None:
        if self.kind == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def prepare(url: str, encryption_key: str) -> tuple[str, str]:
    """Migrate, seed the example plan, and make an admin and a read key."""
    settings = Settings(
        _env_file=None,
        database_url=url,
        encryption_key=encryption_key,
    )
    migrate_database(settings)
    db = Database(url)
    today = datetime.now(UTC).date()
    with db.session() as session:
        seed_example_plan(session, start=shift_months(today.replace(day=1), -5), today=today)
        admin = create_api_key(session, name="bench admin", scope=KeyScope.ADMIN).key
        read = create_api_key(session, name="bench read", scope=KeyScope.READ).key
    db.dispose()
    return admin, read


def start_server(
    url: str,
    encryption_key: str,
    port: int,
    log: Path,
    *,
    split: bool,
    settings: Mapping[str, str] | None = None,
) -> list[subprocess.Popen[bytes]]:
    """`northstar serve`, or with `split` `northstar serve --no-scheduler` beside
    `northstar scheduler` (the deployment for several API processes). `settings`: more
    environment variables (NORTHSTAR_*), over the ones set here."""
    env = {
        **os.environ,
        "NORTHSTAR_DATABASE_URL": url,
        "NORTHSTAR_ENCRYPTION_KEY": encryption_key,
        "NORTHSTAR_SCHEDULER_TICK_SECONDS": "1",
        "NORTHSTAR_LOG_LEVEL": "WARNING",
        "NORTHSTAR_LOG_FORMAT": "console",
        **(settings or {}),
    }
    commands = [["serve", "--port", str(port)]]
    if split:
        commands = [["serve", "--no-scheduler", "--port", str(port)], ["scheduler"]]
    processes = []
    with log.open("wb") as sink:
        for command in commands:
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own command
                    [sys.executable, "-m", "app.cli", *command],
                    env=env,
                    cwd=log.parent,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return processes
        except httpx.TransportError:
            time.sleep(0.2)
        if any(process.poll() is not None for process in processes):
            break
    stop_server(processes)
    raise RuntimeError(f"the server did not start; see {log}")


def stop_server(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
