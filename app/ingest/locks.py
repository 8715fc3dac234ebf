"""One sync of a source at a time, across threads and processes.

PostgreSQL: a session-level advisory lock, so several `northstar scheduler` processes (on any
machines) share the sources. SQLite: an exclusive file lock beside the database file plus an
in-process lock, which covers several processes on the one machine that can reach the file.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from app.db import Database

# First half of the two-int advisory lock key: "Northstar source sync".
ADVISORY_LOCK_CLASS = 0x4E53

# Keyed by Database object: two Database objects are two "processes" as far as tests go,
# and must then meet at the file or advisory lock, not here.
_thread_locks: dict[tuple[int, int], threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(db: Database, source_id: int) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault((id(db), source_id), threading.Lock())


@contextmanager
def source_sync_lock(db: Database, source_id: int) -> Iterator[bool]:
    """Yield True when this caller holds the source's sync lock, False if another has it.

    Never waits: a scheduler that finds the lock taken simply skips this tick.
    """
    local = _thread_lock(db, source_id)
    if not local.acquire(blocking=False):
        yield False
        return
    try:
        if db.is_postgres:
            with _advisory_lock(db, source_id) as held:
                yield held
        else:
            with _file_lock(db, source_id) as held:
                yield held
    finally:
        local.release()


@contextmanager
def _advisory_lock(db: Database, source_id: int) -> Iterator[bool]:
    with db.engine.connect() as connection:
        held = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:cls, :obj)"),
                {"cls": ADVISORY_LOCK_CLASS, "obj": source_id},
            ).scalar()
        )
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:cls, :obj)"),
                    {"cls": ADVISORY_LOCK_CLASS, "obj": source_id},
                )
                connection.commit()


def _lock_path(db: Database, source_id: int) -> Path | None:
    database = db.engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.source-{source_id}.lock")


@contextmanager
def _file_lock(db: Database, source_id: int) -> Iterator[bool]:
    path = _lock_path(db, source_id)
    if path is None:
        yield True
        return
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
