"""The database dates UTC instants in the reporting zone exactly as Python does, around
every kind of offset change, and measures durations as Python does (the rollups rely on
both: see app/kpis/sql_time.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import literal, select

from app.db import Database, UTCDateTime
from app.kpis.sql_time import hours_between, local_date, local_day, offset_segments, utc_bounds


def test_offsets_change_at_the_zones_transition_second() -> None:
    new_york = ZoneInfo("America/New_York")
    start, end = utc_bounds(datetime(2025, 3, 1).date(), datetime(2025, 3, 31).date(), new_york)

    segments = offset_segments(start, end, new_york)

    assert [(s.starts, s.offset) for s in segments] == [
        (datetime(2025, 3, 1, 5, tzinfo=UTC), timedelta(hours=-5)),
        (datetime(2025, 3, 9, 7, tzinfo=UTC), timedelta(hours=-4)),  # 2 a.m. EST
    ]


# (zone, a month with an offset change): hour and half-hour shifts, a 30-minute DST, a zone
# without DST and one behind UTC by a fraction of an hour.
ZONES = [
    ("America/New_York", (2025, 11)),
    ("Europe/London", (2025, 3)),
    ("Australia/Lord_Howe", (2025, 4)),
    ("America/St_Johns", (2025, 11)),
    ("Asia/Kolkata", (2025, 6)),
    ("UTC", (2025, 1)),
]


@pytest.mark.parametrize(("zone", "month"), ZONES)
def test_the_database_dates_instants_as_python_does(
    db: Database, zone: str, month: tuple[int, int]
) -> None:
    tz = ZoneInfo(zone)
    first = datetime(*month, 1).date()
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    start, end = utc_bounds(first, last, tz)
    segments = offset_segments(start, end, tz)
    # Either side of every change and of the window's edges, plus local midnights and noons.
    instants = {start, end - timedelta(seconds=1)}
    for segment in segments:
        instants |= {segment.starts - timedelta(seconds=1), segment.starts}
    for day in range((last - first).days + 1):
        midnight = datetime.combine(first + timedelta(days=day), datetime.min.time(), tz)
        instants |= {midnight - timedelta(seconds=1), midnight, midnight + timedelta(hours=12)}
    ordered = sorted(instant.astimezone(UTC) for instant in instants)

    with db.session() as session:
        dialect = session.get_bind().dialect.name
        got = session.execute(
            select(*(local_date(literal(i, UTCDateTime), segments, dialect) for i in ordered))
        ).one()

    assert [str(d) for d in got] == [str(local_day(i, tz)) for i in ordered]


def test_the_database_measures_hours_as_python_does(db: Database) -> None:
    created = datetime(2025, 3, 8, 23, 59, 59, tzinfo=UTC)
    laters = [
        created,
        created + timedelta(seconds=1),
        created + timedelta(hours=1, minutes=2, seconds=3),
        created + timedelta(days=3, seconds=7, milliseconds=250),
        created + timedelta(days=400, hours=5),
    ]
    with db.session() as session:
        dialect = session.get_bind().dialect.name
        start = literal(created, UTCDateTime)
        got = session.execute(
            select(*(hours_between(start, literal(t, UTCDateTime), dialect) for t in laters))
        ).one()

    assert list(got) == [(t - created).total_seconds() / 3600 for t in laters]
