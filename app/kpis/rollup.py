"""Building the daily and monthly rollups from the facts.

`aggregate_days` recomputes every rollup row (one-scope and pair rows alike) of the given
local days of one source from the facts (tickets by each of their event days, time entries
by work date, survey responses by completion day; see day_sums.py), then replaces the
stored rows of those days and the monthly sums of their months. `refresh_dirty_days` does
that for the days syncs marked dirty; `rebuild` for a whole history, and
`refresh_after_sync` picks between them (a backfill asks for a rebuild instead of marking
days, see `KpiRebuildPending`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Date, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from app.facts.models import SurveyResponseRow, TicketRow, TimeEntryRow
from app.kpis.day_sums import (
    FIRST_MEASURE,
    FIRST_PAIR_MEASURE,
    PAIR_COLUMNS,
    ROLLUP_COLUMNS,
    Window,
    sum_days,
)
from app.kpis.models import (
    MEASURES,
    KpiDailyPairRollup,
    KpiDailyRollup,
    KpiDirtyDay,
    KpiMonthlyPairRollup,
    KpiMonthlyRollup,
    KpiRebuildPending,
)
from app.kpis.sql_time import local_day, utc_date

IN_BATCH = 900


@dataclass(frozen=True)
class RollupKind:
    """One kind of rollup row: its daily and monthly tables and its key columns."""

    daily: Any
    monthly: Any
    columns: tuple[str, ...]  # every column written, in the order rows are built
    keys: tuple[str, ...]  # the member's key columns besides source and day

    @property
    def first_measure(self) -> int:
        return self.columns.index(MEASURES[0])

    @property
    def member(self) -> Callable[[Sequence[Any]], Any]:
        """(source_id, *keys) of a row."""
        return itemgetter(0, *range(2, self.first_measure))


ONE_SCOPE = RollupKind(KpiDailyRollup, KpiMonthlyRollup, ROLLUP_COLUMNS, ("dim", "dim_value"))
PAIR = RollupKind(
    KpiDailyPairRollup, KpiMonthlyPairRollup, PAIR_COLUMNS, ("pair", "first_value", "second_value")
)
KINDS = (ONE_SCOPE, PAIR)
assert ONE_SCOPE.first_measure == FIRST_MEASURE and PAIR.first_measure == FIRST_PAIR_MEASURE


def day_runs(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """Contiguous runs of days within one calendar month, as (first, last)."""
    ordered = sorted(set(days))
    if not ordered:
        return
    first = previous = ordered[0]
    for day in ordered[1:]:
        if day != previous + timedelta(days=1) or day.month != previous.month:
            yield first, previous
            first = day
        previous = day
    yield first, previous


def _insert_rollups(
    session: Session, table: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Plain executemany on the driver's cursor, in the session's transaction: rollup rows
    carry only dates, strings and floats, and SQLAlchemy's per-parameter processing would
    cost more than the insert. `rows` are in `columns` order."""
    if not rows:
        return
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {table.__tablename__} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(statement, rows)
    finally:
        cursor.close()


def _month_of(day: date) -> tuple[date, date]:
    """The first and last day of `day`'s month."""
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _monthly_rows(kind: RollupKind, month: date, daily: list[list[Any]]) -> list[list[Any]]:
    """A whole month's daily rows (`kind.columns` order), summed per member."""
    member, first = kind.member, kind.first_measure
    by_member = sorted(daily, key=member)
    monthly = []
    for (source_id, *keys), days in groupby(by_member, key=member):
        measures = zip(*(row[first:] for row in days), strict=True)
        monthly.append([source_id, month, *keys, *map(sum, measures)])
    return monthly


def aggregate_days(session: Session, source_id: int, days: Iterable[date], tz: tzinfo) -> int:
    """Recompute and replace the rollups of `days` for one source, then the monthly sums of
    their months; returns how many days were recomputed."""
    total = 0
    partly_recomputed: set[date] = set()
    dialect = session.get_bind().dialect.name
    for first, last in day_runs(days):
        sums = sum_days(session, Window(source_id, first, last, tz, dialect))
        total += (last - first).days + 1
        month, month_end = _month_of(first)
        whole_month = (first, last) == (month, month_end)
        for kind, daily in ((ONE_SCOPE, sums.rows()), (PAIR, sums.pair_rows())):
            _replace(session, kind.daily, source_id, first, last)
            _insert_rollups(session, kind.daily, kind.columns, daily)
            if whole_month:
                _replace(session, kind.monthly, source_id, month, month)
                _insert_rollups(
                    session, kind.monthly, kind.columns, _monthly_rows(kind, month, daily)
                )
        if not whole_month:
            partly_recomputed.add(month)
    for month in sorted(partly_recomputed):
        for kind in KINDS:
            _sum_month(session, kind, source_id, month)
    return total


def _replace(session: Session, table: Any, source_id: int, first: date, last: date) -> None:
    """Delete a source's rows of `table` from `first` to `last`, before writing them anew."""
    session.execute(
        delete(table).where(table.source_id == source_id, table.day >= first, table.day <= last)
    )


def _sum_month(session: Session, kind: RollupKind, source_id: int, month: date) -> None:
    """Re-sum a month from its stored daily rows (when only some of its days changed)."""
    _, last = _month_of(month)
    following = last + timedelta(days=1)
    _replace(session, kind.monthly, source_id, month, month)
    daily = kind.daily
    keys = [getattr(daily, k) for k in kind.keys]
    session.execute(
        insert(kind.monthly).from_select(
            ["source_id", "day", *kind.keys, *MEASURES],
            select(
                literal(source_id),
                literal(month, Date),
                *keys,
                *(func.sum(getattr(daily, m)) for m in MEASURES),
            )
            .where(daily.source_id == source_id, daily.day >= month, daily.day < following)
            .group_by(*keys),
        )
    )


def mark_dirty(session: Session, source_id: int, days: Iterable[date]) -> None:
    wanted = set(days)
    if not wanted:
        return
    known = set(
        session.scalars(
            select(KpiDirtyDay.day).where(
                KpiDirtyDay.source_id == source_id, KpiDirtyDay.day.in_(sorted(wanted))
            )
        )
    )
    fresh = [{"source_id": source_id, "day": d} for d in sorted(wanted - known)]
    if fresh:
        session.execute(insert(KpiDirtyDay), fresh)


def refresh_dirty_days(session: Session, source_id: int, tz: tzinfo) -> int:
    """Re-aggregate the days syncs marked dirty; returns how many days were recomputed."""
    days = list(session.scalars(select(KpiDirtyDay.day).where(KpiDirtyDay.source_id == source_id)))
    if not days:
        return 0
    count = aggregate_days(session, source_id, days, tz)
    session.execute(delete(KpiDirtyDay).where(KpiDirtyDay.source_id == source_id))
    return count


def fact_days(session: Session, source_id: int, tz: tzinfo, since: date | None) -> set[date]:
    """The local days that may hold a fact event of the source (for a rebuild): each day
    with time, and the local days each UTC date with a ticket event or survey response
    overlaps. A stray date years away adds its own days, not the years in between."""
    dialect = session.get_bind().dialect.name
    days = set(
        session.scalars(
            select(TimeEntryRow.work_date).where(TimeEntryRow.source_id == source_id).distinct()
        )
    )
    for row, column in (
        (TicketRow, TicketRow.created_at),
        (TicketRow, TicketRow.first_response_at),
        (TicketRow, TicketRow.resolved_at),
        (TicketRow, TicketRow.closed_at),
        (SurveyResponseRow, SurveyResponseRow.completed_at),
    ):
        utc_dates = session.scalars(
            select(utc_date(column, dialect))
            .where(row.source_id == source_id, column.is_not(None))
            .distinct()
        )
        for utc in utc_dates:
            first = datetime.combine(utc, time(), UTC)
            last = first + timedelta(days=1, microseconds=-1)
            days.update(_span(local_day(first, tz), local_day(last, tz)))
    if since is not None:
        days = {d for d in days if d >= since}
    return days


def _span(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def rebuild(session: Session, source_id: int, tz: tzinfo, since: date | None = None) -> int:
    """Recompute the rollups of a source's whole history (or from `since`)."""
    days = fact_days(session, source_id, tz, since)
    stored = select(KpiDailyRollup.day).where(KpiDailyRollup.source_id == source_id)
    if since is not None:
        stored = stored.where(KpiDailyRollup.day >= since)
    days.update(session.scalars(stored.distinct()))  # days whose facts are all gone
    count = aggregate_days(session, source_id, days, tz)
    recomputed = delete(KpiDirtyDay).where(KpiDirtyDay.source_id == source_id)
    if since is not None:
        recomputed = recomputed.where(KpiDirtyDay.day >= since)
    session.execute(recomputed)
    return count


def request_rebuild(session: Session, source_id: int) -> None:
    """Note that the source's rollups are to be rebuilt whole after its current sync."""
    if session.get(KpiRebuildPending, source_id) is None:
        session.add(KpiRebuildPending(source_id=source_id))
        session.flush()


def rebuild_pending(session: Session, source_id: int) -> bool:
    return session.get(KpiRebuildPending, source_id) is not None


def refresh_after_sync(session: Session, source_id: int, tz: tzinfo) -> int:
    """Bring a source's rollups up to date after a sync: rebuilt whole if a backfill asked
    for it, else the days its pages marked dirty. Returns the days recomputed."""
    pending = session.get(KpiRebuildPending, source_id)
    if pending is None:
        return refresh_dirty_days(session, source_id, tz)
    count = rebuild(session, source_id, tz)
    session.delete(pending)
    return count
