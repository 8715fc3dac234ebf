"""Building the daily rollups from the facts.

`aggregate_days` recomputes every rollup row of the given local days of one source from
the facts (tickets by each of their event days, time entries by work date, survey responses
by completion day), then replaces the stored rows of those days. `refresh_dirty_days` does
that for the days syncs marked dirty; `rebuild` for a whole history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    Date,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from app.facts.models import SurveyResponseRow, TechnicianRow, TicketRow, TimeEntryRow
from app.kpis.models import MEASURES, KpiDailyRollup, KpiDirtyDay, KpiMonthlyRollup

CSAT_SATISFIED = 0.75
CHUNK_DAYS = 31
IN_BATCH = 900

Key = tuple[date, str, str]  # (day, dim, value)
Sums = dict[Key, list[float]]
MEASURE_INDEX = {name: i for i, name in enumerate(MEASURES)}


def local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def utc_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC instants of the start of `first` and the end of `last`, in the reporting zone."""
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def day_runs(days: Iterable[date], max_len: int = CHUNK_DAYS) -> Iterator[tuple[date, date]]:
    """Contiguous runs of days, each at most `max_len` long, as (first, last)."""
    ordered = sorted(set(days))
    if not ordered:
        return
    first = previous = ordered[0]
    for day in ordered[1:]:
        if day != previous + timedelta(days=1) or (day - first).days >= max_len:
            yield first, previous
            first = day
        previous = day
    yield first, previous


def _dims(
    client: str | None,
    technician: str | None,
    board: str | None,
    level: int | None,
    priority: str | None,
) -> list[tuple[str, str]]:
    dims = [("all", "")]
    if client:
        dims.append(("client", client))
    if technician:
        dims.append(("technician", technician))
    if board:
        dims.append(("board", board))
    if level is not None:
        dims.append(("priority_level", str(level)))
    if priority:
        dims.append(("priority", priority))
    return dims


def _add(sums: Sums, day: date, dims: list[tuple[str, str]], values: dict[str, float]) -> None:
    for dim, value in dims:
        row = sums.get((day, dim, value))
        if row is None:
            row = sums[(day, dim, value)] = [0.0] * len(MEASURES)
        for name, amount in values.items():
            row[MEASURE_INDEX[name]] += amount


TICKET_COLUMNS = (
    TicketRow.external_id,
    TicketRow.client_external_id,
    TicketRow.assignee_external_id,
    TicketRow.board,
    TicketRow.priority_level,
    TicketRow.priority,
    TicketRow.created_at,
    TicketRow.first_response_at,
    TicketRow.resolved_at,
    TicketRow.closed_at,
    TicketRow.response_met,
    TicketRow.resolution_met,
)


def _tickets_with_events(
    session: Session, source_id: int, start: datetime, end: datetime
) -> dict[str, Any]:
    """Tickets with any event (created, first response, resolved, closed) in [start, end),
    each once; the database answers the OR from the four event indexes."""
    in_range = [
        and_(column >= start, column < end)
        for column in (
            TicketRow.created_at,
            TicketRow.first_response_at,
            TicketRow.resolved_at,
            TicketRow.closed_at,
        )
    ]
    rows = session.connection().execute(
        select(*TICKET_COLUMNS).where(TicketRow.source_id == source_id, or_(*in_range))
    )
    return {row.external_id: row for row in rows}


def _ticket_lookup(session: Session, source_id: int, ids: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    ordered = sorted(ids)
    for i in range(0, len(ordered), IN_BATCH):
        for row in session.execute(
            select(
                TicketRow.external_id,
                TicketRow.assignee_external_id,
                TicketRow.board,
                TicketRow.priority_level,
                TicketRow.priority,
            ).where(
                TicketRow.source_id == source_id,
                TicketRow.external_id.in_(ordered[i : i + IN_BATCH]),
            )
        ):
            found[row.external_id] = row
    return found


def _aggregate_run(
    session: Session,
    source_id: int,
    first: date,
    last: date,
    tz: tzinfo,
) -> Sums:
    sums: Sums = {}
    start, end = utc_bounds(first, last, tz)

    def within(moment: datetime | None) -> date | None:
        if moment is None or not (start <= moment < end):
            return None
        return local_day(moment, tz)

    for t in _tickets_with_events(session, source_id, start, end).values():
        dims = _dims(
            t.client_external_id, t.assignee_external_id, t.board, t.priority_level, t.priority
        )
        if day := within(t.created_at):
            _add(sums, day, dims, {"tickets_created": 1})
        if day := within(t.closed_at):
            _add(sums, day, dims, {"tickets_closed": 1})
        if (day := within(t.first_response_at)) and t.first_response_at:
            hours = (t.first_response_at - t.created_at).total_seconds() / 3600
            values = {"response_count": 1, "response_hours_sum": hours}
            if t.response_met is not None:
                values |= {"response_decided": 1, "response_met": float(t.response_met)}
            _add(sums, day, dims, values)
        if (day := within(t.resolved_at)) and t.resolved_at:
            hours = (t.resolved_at - t.created_at).total_seconds() / 3600
            values = {"resolution_count": 1, "resolution_hours_sum": hours}
            if t.resolution_met is not None:
                values |= {"resolution_decided": 1, "resolution_met": float(t.resolution_met)}
            _add(sums, day, dims, values)

    _aggregate_time_entries(session, source_id, first, last, sums)

    surveys = (
        session.connection()
        .execute(
            select(
                SurveyResponseRow.completed_at,
                SurveyResponseRow.score,
                SurveyResponseRow.client_external_id,
                SurveyResponseRow.technician_external_id,
                SurveyResponseRow.ticket_external_id,
            ).where(
                SurveyResponseRow.source_id == source_id,
                SurveyResponseRow.completed_at >= start,
                SurveyResponseRow.completed_at < end,
            )
        )
        .all()
    )
    tickets = _ticket_lookup(
        session, source_id, {s.ticket_external_id for s in surveys if s.ticket_external_id}
    )
    for s in surveys:
        ticket = tickets.get(s.ticket_external_id) if s.ticket_external_id else None
        technician = (ticket.assignee_external_id if ticket else None) or s.technician_external_id
        dims = _dims(
            s.client_external_id,
            technician,
            ticket.board if ticket else None,
            ticket.priority_level if ticket else None,
            ticket.priority if ticket else None,
        )
        _add(
            sums,
            local_day(s.completed_at, tz),
            dims,
            {
                "csat_count": 1,
                "csat_good": 1.0 if s.score >= CSAT_SATISFIED else 0.0,
                "csat_score_sum": s.score,
            },
        )
    return sums


ROLLUP_COLUMNS = ("source_id", "day", "dim", "dim_value", *MEASURES)


def _insert_rollups(session: Session, source_id: int, sums: Sums) -> None:
    """Plain executemany through the driver: rollup rows carry only dates, strings and
    floats, and SQLAlchemy's per-parameter processing would cost more than the insert."""
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {KpiDailyRollup.__tablename__} ({', '.join(ROLLUP_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join([marker] * len(ROLLUP_COLUMNS))})"
    )
    rows = [(source_id, day, dim, value, *measures) for (day, dim, value), measures in sums.items()]
    for i in range(0, len(rows), 5000):
        connection.exec_driver_sql(statement, rows[i : i + 5000])


# Where a time entry counts, per dimension; board and priority come through its ticket.
TIME_DIMENSIONS: dict[str, Any] = {
    "all": literal(""),
    "client": TimeEntryRow.client_external_id,
    "technician": TimeEntryRow.technician_external_id,
    "board": TicketRow.board,
    "priority_level": cast(TicketRow.priority_level, String),
    "priority": TicketRow.priority,
}


def _aggregate_time_entries(
    session: Session, source_id: int, first: date, last: date, sums: Sums
) -> None:
    """Time is dated by work date, so the database can sum it per day and dimension: a
    backfill's 300,000 entries become a few thousand rows before Python sees them."""
    counted = TechnicianRow.included_in_utilization.is_(True)
    entry = TimeEntryRow
    # Utilisation numerators count only technicians counted for utilisation (KPIS.md
    # §4.2); a change of that flag marks the technician's days dirty (see dirty.py).
    measures = (
        func.count(),
        func.sum(entry.hours),
        func.sum(case((and_(counted, entry.counts_toward_utilization), entry.hours), else_=0.0)),
        func.sum(case((counted, entry.billable_hours), else_=0.0)),
        func.sum(case((entry.client_external_id.is_not(None), entry.hours), else_=0.0)),
    )
    names = ("time_entries", "hours", "utilization_hours", "billable_hours", "client_hours")
    for dim, expression in TIME_DIMENSIONS.items():
        query = (
            select(entry.work_date, expression, *measures)
            .select_from(entry)
            .outerjoin(
                TechnicianRow,
                and_(
                    TechnicianRow.source_id == entry.source_id,
                    TechnicianRow.external_id == entry.technician_external_id,
                ),
            )
            .where(entry.source_id == source_id, entry.work_date >= first, entry.work_date <= last)
            .group_by(entry.work_date, expression)
        )
        if dim in ("board", "priority_level", "priority"):
            query = query.join(
                TicketRow,
                and_(
                    TicketRow.source_id == entry.source_id,
                    TicketRow.external_id == entry.ticket_external_id,
                ),
            )
        if dim != "all":
            query = query.where(expression.is_not(None), expression != "")
        for row in session.connection().execute(query):
            _add(
                sums,
                row[0],
                [(dim, str(row[1]))],
                dict(zip(names, (float(v or 0.0) for v in row[2:]), strict=True)),
            )


def aggregate_days(session: Session, source_id: int, days: Iterable[date], tz: tzinfo) -> int:
    """Recompute and replace the rollups of `days` for one source, then the monthly sums of
    their months; returns how many days were recomputed."""
    total = 0
    months: set[date] = set()
    for first, last in day_runs(days):
        sums = _aggregate_run(session, source_id, first, last, tz)
        session.execute(
            delete(KpiDailyRollup).where(
                KpiDailyRollup.source_id == source_id,
                KpiDailyRollup.day >= first,
                KpiDailyRollup.day <= last,
            )
        )
        _insert_rollups(session, source_id, sums)
        total += (last - first).days + 1
        months.update(d.replace(day=1) for d in _span(first, last))
    for month in sorted(months):
        _sum_month(session, source_id, month)
    return total


def _sum_month(session: Session, source_id: int, month: date) -> None:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    session.execute(
        delete(KpiMonthlyRollup).where(
            KpiMonthlyRollup.source_id == source_id, KpiMonthlyRollup.day == month
        )
    )
    daily = KpiDailyRollup
    session.execute(
        insert(KpiMonthlyRollup).from_select(
            ["source_id", "day", "dim", "dim_value", *MEASURES],
            select(
                literal(source_id),
                literal(month, Date),
                daily.dim,
                daily.dim_value,
                *(func.sum(getattr(daily, m)) for m in MEASURES),
            )
            .where(daily.source_id == source_id, daily.day >= month, daily.day < following)
            .group_by(daily.dim, daily.dim_value),
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


def _min_max(session: Session, column: Any, *conditions: Any) -> tuple[Any, Any]:
    return tuple(
        session.execute(select(func.min(column), func.max(column)).where(*conditions)).one()
    )


def fact_days(session: Session, source_id: int, tz: tzinfo, since: date | None) -> set[date]:
    """Every local day from the source's first to its last fact event (for a rebuild)."""
    days: set[date] = set()
    for column in (
        TicketRow.created_at,
        TicketRow.first_response_at,
        TicketRow.resolved_at,
        TicketRow.closed_at,
    ):
        low, high = _min_max(session, column, TicketRow.source_id == source_id)
        if low is not None and high is not None:
            days.update(_span(local_day(low, tz), local_day(high, tz)))
    low, high = _min_max(session, TimeEntryRow.work_date, TimeEntryRow.source_id == source_id)
    if low is not None and high is not None:
        days.update(_span(low, high))
    low, high = _min_max(
        session, SurveyResponseRow.completed_at, SurveyResponseRow.source_id == source_id
    )
    if low is not None and high is not None:
        days.update(_span(local_day(low, tz), local_day(high, tz)))
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
    session.execute(delete(KpiDirtyDay).where(KpiDirtyDay.source_id == source_id))
    return count
