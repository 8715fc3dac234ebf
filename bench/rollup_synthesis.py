"""A KPI store of N tickets synthesised straight into the rollup tables, for query benchmarks.

Loading a million tickets into the fact tables and rebuilding their rollups takes about ten
minutes on the project's machine; a query benchmark only reads the rollups. So this draws N
tickets with the distributions of `kpi_query.load` (three years, 400 clients, 80
technicians, 4 boards, P1-P4, 2 time entries each, a survey response on one ticket in
ten) and hands each fact's contributions to the KPI store's own aggregation
(`app.kpis.day_sums.DaySums`, the rows `CONTRIBUTIONS` queries would return, each dated by
its month's first day), then writes the one-scope and pair rows of the monthly rollups with
`app.kpis.rollup`'s own writer. The monthly rows are what a monthly, quarterly or yearly
series reads (`app.kpis.rollup_reads.rollup_table`); the daily tables, which it never
reads, stay empty, and so do the fact tables. The clients, technicians and the source's
coverage are written, so requests resolve their scopes and return values.

Tickets are drawn in order of creation and a month is written once a ticket is created
after it (every event of a ticket comes after its creation), so memory holds a month or two
of contributions, never the whole history.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from app.db import Database, utcnow
from app.facts.models import ClientRow, TechnicianRow
from app.ingest.models import SyncCursor
from app.kpis.day_sums import CONTRIBUTIONS, DaySums
from app.kpis.rollup import KINDS, _insert_rollups
from app.sources.models import Source

START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 3 * 365
CLIENTS, TECHNICIANS = 400, 80
BOARDS = ("Service Desk", "Escalations", "Projects Support", "Onboarding")
STREAMS = ("clients", "technicians", "tickets", "time_entries", "survey_results")
MEASURES_OF = [c.measures for c in CONTRIBUTIONS]
CREATED, CLOSED, RESPONSE, RESOLUTION, TIME, SURVEY = MEASURES_OF


def _directory(db: Database) -> int:
    with db.session() as session:
        source = Source(
            name="bench", kind="bench", config={}, secrets_encrypted="", history_from=START.date()
        )
        session.add(source)
        session.flush()
        source_id = source.id
        session.execute(
            insert(ClientRow),
            [
                {"source_id": source_id, "external_id": str(i), "name": f"Client {i}"}
                for i in range(CLIENTS)
            ],
        )
        session.execute(
            insert(TechnicianRow),
            [
                {
                    "source_id": source_id,
                    "external_id": str(i),
                    "name": f"Tech {i}",
                    "active": i % 20 != 0,
                    "included_in_utilization": i % 10 != 0,
                }
                for i in range(TECHNICIANS)
            ],
        )
        now = utcnow()
        for stream in STREAMS:  # read whole and synced now, as a first sync leaves them
            session.add(
                SyncCursor(
                    source_id=source_id,
                    stream=stream,
                    history_read=True,
                    last_success_at=now,
                    last_attempt_at=now,
                )
            )
    return source_id


def _contributions(rng: random.Random, created: datetime) -> list[tuple[Any, tuple[Any, ...]]]:
    """(measures, row) of each contribution one ticket makes, rows as `CONTRIBUTIONS` give
    them: (day, client, technician, board, level, priority, *values), its survey on every
    tenth ticket."""
    responded = created + timedelta(minutes=rng.randrange(5, 600))
    resolved = responded + timedelta(hours=rng.randrange(1, 96))
    closed = resolved + timedelta(hours=rng.randrange(0, 48))
    is_closed = rng.random() < 0.97
    level = rng.choice((1, 2, 3, 3, 4, 4))
    technician, client = str(rng.randrange(TECHNICIANS)), str(rng.randrange(CLIENTS))
    scope = (client, technician, rng.choice(BOARDS), level, f"Priority {level}")
    response_met, resolution_met = float(rng.random() < 0.9), float(rng.random() < 0.85)
    counted = int(technician) % 10 != 0

    def hours(since: datetime, until: datetime) -> float:
        return (until - since).total_seconds() / 3600

    def on(moment: datetime | date) -> str:
        """The first day of the moment's month, as SQLite's driver gives a date."""
        day = moment.date() if isinstance(moment, datetime) else moment
        return day.replace(day=1).isoformat()

    made = [
        (CREATED, (on(created), *scope, 1.0)),
        (RESPONSE, (on(responded), *scope, 1.0, hours(created, responded), 1.0, response_met)),
    ]
    if is_closed:
        made.append((CLOSED, (on(closed), *scope, 1.0)))
        made.append(
            (RESOLUTION, (on(resolved), *scope, 1.0, hours(created, resolved), 1.0, resolution_met))
        )
    for _ in range(2):
        logged = rng.choice((0.25, 0.5, 1.0, 1.5, 2.0))
        billable = logged if rng.random() < 0.7 else 0.0
        values = (1.0, logged, logged if counted else 0.0, billable if counted else 0.0, logged)
        made.append((TIME, (on(responded), *scope, *values)))
    if rng.random() < 0.1:
        score = rng.choice((0.0, 0.5, 0.75, 1.0, 1.0))
        completed = on(closed + timedelta(hours=2))
        made.append((SURVEY, (completed, *scope, 1.0, float(score >= 0.75), score)))
    return made


def synthesise(db: Database, tickets: int, seed: int = 11) -> int:
    """Write the rollups of `tickets` drawn tickets into a migrated store; its source id."""
    source_id = _directory(db)
    rng = random.Random(seed)
    instants = sorted(rng.randrange(DAYS * 86400) for _ in range(tickets))
    months: dict[str, dict[Any, list[tuple[Any, ...]]]] = defaultdict(lambda: defaultdict(list))
    for offset in instants:
        created = START + timedelta(seconds=offset)
        for measures, row in _contributions(rng, created):
            months[row[0][:7]][measures].append(row)
        begun = created.strftime("%Y-%m")  # no later ticket reaches an earlier month
        for month in sorted(m for m in months if m < begun):
            _write_month(db, source_id, month, months.pop(month))
    for month in sorted(months):
        _write_month(db, source_id, month, months.pop(month))
    return source_id


def _write_month(
    db: Database, source_id: int, month: str, rows: dict[Any, list[tuple[Any, ...]]]
) -> None:
    sums = DaySums(source_id)
    for measures, contributed in rows.items():
        sums.add_rows(measures, contributed)
    with db.session() as session:
        # A bench store built once and thrown away: no need to wait for the disk each month.
        session.execute(text("PRAGMA synchronous = OFF"))
        for kind, monthly in zip(KINDS, (sums.rows(), sums.pair_rows()), strict=True):
            _insert_rollups(session, kind.monthly, kind.columns, monthly)
