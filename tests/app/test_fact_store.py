"""The fact store's bulk upsert writes what SQLAlchemy itself would write, and reads back
what it was given."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from app.db import Database, UTCDateTime
from app.facts.models import TechnicianRow, TicketRow, TimeEntryRow
from app.facts.store import bind_conversion, write_facts
from app.sources.models import Source
from connectors.sdk import (
    AmountPeriod,
    RecurringRevenueFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)

INSTANTS = [
    datetime(2025, 3, 9, 7, 0, tzinfo=UTC),  # whole seconds: ".000000" must stay
    datetime(2025, 3, 9, 1, 59, 59, 999999, tzinfo=ZoneInfo("America/New_York")),
    datetime(2025, 11, 2, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),
    datetime(2025, 4, 6, 1, 45, tzinfo=ZoneInfo("Australia/Lord_Howe")),
    datetime(2024, 2, 29, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1, 1, 1, 0, 0, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def test_the_one_step_datetime_conversion_writes_what_sqlalchemy_writes() -> None:
    dialect = sqlite.dialect()
    sqlalchemy_chain = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    one_step = bind_conversion(UTCDateTime(), dialect)
    assert sqlalchemy_chain is not None and one_step is not None
    assert one_step is not sqlalchemy_chain
    for instant in [*INSTANTS, None]:
        assert one_step(instant) == sqlalchemy_chain(instant), instant
    with pytest.raises(ValueError, match="naive datetime"):
        one_step(datetime(2025, 1, 1, 9, 0))


TICKET = TicketFact(
    external_id="T-1",
    created_at=INSTANTS[1],
    number="1001",
    title="Printer offline",
    client_external_id="c1",
    board="Service",
    status="Closed",
    is_closed=True,
    priority="High",
    priority_level=2,
    assignee_external_id="t1",
    first_response_at=INSTANTS[2],
    resolved_at=INSTANTS[3],
    closed_at=INSTANTS[4],
    response_met=True,
    resolution_met=False,
    updated_at=INSTANTS[0],
)


@pytest.mark.db
def test_facts_read_back_as_they_were_written(db: Database) -> None:
    entry = TimeEntryFact("e-1", "t1", date(2025, 3, 9), 1.25, 0.5, False, "c1", "T-1")
    technician = TechnicianFact("t1", "Ada", capacity_hours=(8.0, 8.0, 8.0, 8.0, 6.5, 0.0, 0.0))
    revenue = RecurringRevenueFact(
        "r1",
        "Managed",
        date(2025, 1, 1),
        "c1",
        amount_schedule=(AmountPeriod(date(2025, 1, 1), None, Decimal("1250.00")),),
    )
    with db.session() as session:
        source = Source(name="store", kind="connectwise")
        session.add(source)
        session.flush()
        written = write_facts(session, source.id, [TICKET, entry, technician, revenue])
        source_id = source.id
    assert written.changed == 4

    with db.session() as session:
        ticket = session.scalars(select(TicketRow)).one()
        assert {f: getattr(ticket, f) for f in _fields(TicketFact)} == _in_utc(TICKET)
        stored_entry = session.scalars(select(TimeEntryRow)).one()
        assert {f: getattr(stored_entry, f) for f in _fields(TimeEntryFact)} == (
            dataclasses.asdict(entry)
        )
        stored_technician = session.scalars(select(TechnicianRow)).one()
        assert (stored_technician.capacity_fri, stored_technician.capacity_sat) == (6.5, 0.0)

    with db.session() as session:  # the same facts again change nothing
        assert write_facts(session, source_id, [TICKET, entry, technician, revenue]).changed == 0
        moved = dataclasses.replace(TICKET, assignee_external_id="t2")
        assert write_facts(session, source_id, [moved]).changed == 1


def _fields(fact_class: type) -> list[str]:
    return [f.name for f in dataclasses.fields(fact_class)]


def _in_utc(fact: TicketFact) -> dict[str, object]:
    """The fact's values with instants in UTC: Python never finds an ambiguous local time
    (fold) equal to an instant of another zone (PEP 495)."""
    return {
        name: value.astimezone(UTC) if isinstance(value, datetime) else value
        for name, value in dataclasses.asdict(fact).items()
    }


def test_sqlite_stores_write_ahead_and_checkpoint_in_large_steps(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with database.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL: safe with WAL
        assert pragma("PRAGMA wal_autocheckpoint").scalar() == 10000
        assert pragma("PRAGMA journal_size_limit").scalar() == 64 * 1024 * 1024
        assert pragma("PRAGMA foreign_keys").scalar() == 1
    database.dispose()
