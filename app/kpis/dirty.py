"""Which local days a page of facts changes, so only those days are re-aggregated.

Called before the page is written: it compares each incoming fact with the stored row and
returns the days whose sums the difference changes. For a ticket that is the day of each
event whose inputs changed (a ticket resolved today dirties today, not the day it was
opened), or every event day of both versions when its client or scope changed. A ticket
whose scope (board, priority, assignee) changes also dirties the days of its time entries
and survey responses, which are scoped through it; a technician whose utilisation flag
flips dirties the days of its time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.facts.models import SurveyResponseRow, TechnicianRow, TicketRow, TimeEntryRow
from app.facts.store import WriteResult, write_facts
from app.kpis.rollup import IN_BATCH, mark_dirty
from app.kpis.sql_time import local_day
from connectors.sdk import Deletion, FactOrDeletion, FactType, MatchedDeletion

TICKET_EVENTS = ("created_at", "first_response_at", "resolved_at", "closed_at")
TICKET_READ = (
    *TICKET_EVENTS,
    "client_external_id",
    "assignee_external_id",
    "board",
    "priority_level",
    "priority",
    "response_met",
    "resolution_met",
)
TICKET_SCOPE = ("assignee_external_id", "board", "priority_level", "priority")
TICKET_DIMENSIONS = ("client_external_id", *TICKET_SCOPE)
# What each ticket event adds to its day depends on these fields (and the dimensions).
TICKET_EVENT_INPUTS = {
    "created_at": ("created_at",),
    "closed_at": ("closed_at",),
    "first_response_at": ("first_response_at", "created_at", "response_met"),
    "resolved_at": ("resolved_at", "created_at", "resolution_met"),
}
ENTRY_READ = (
    "work_date",
    "hours",
    "billable_hours",
    "counts_toward_utilization",
    "client_external_id",
    "technician_external_id",
    "ticket_external_id",
)
SURVEY_READ = (
    "completed_at",
    "score",
    "client_external_id",
    "technician_external_id",
    "ticket_external_id",
)

ROWS: dict[FactType, tuple[Any, tuple[str, ...]]] = {
    FactType.TICKET: (TicketRow, TICKET_READ),
    FactType.TIME_ENTRY: (TimeEntryRow, ENTRY_READ),
    FactType.SURVEY_RESPONSE: (SurveyResponseRow, SURVEY_READ),
    FactType.TECHNICIAN: (TechnicianRow, ("included_in_utilization",)),
}


def _stored(
    session: Session, source_id: int, fact_type: FactType, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    row_class, fields = ROWS[fact_type]
    found: dict[str, dict[str, Any]] = {}
    columns = [getattr(row_class, f) for f in fields]
    for i in range(0, len(ids), IN_BATCH):
        for row in session.execute(
            select(row_class.external_id, *columns).where(
                row_class.source_id == source_id,
                row_class.external_id.in_(ids[i : i + IN_BATCH]),
            )
        ):
            found[row[0]] = dict(zip(fields, row[1:], strict=True))
    return found


def _event_days(fact_type: FactType, values: dict[str, Any] | None, tz: tzinfo) -> set[date]:
    if values is None:
        return set()
    if fact_type is FactType.TICKET:
        return {local_day(values[f], tz) for f in TICKET_EVENTS if values[f] is not None}
    if fact_type is FactType.TIME_ENTRY:
        return {values["work_date"]}
    if fact_type is FactType.SURVEY_RESPONSE:
        return {local_day(values["completed_at"], tz)}
    return set()


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    for key, value in new.items():
        stored = old[key]
        if isinstance(value, float) or isinstance(stored, float):
            if stored is None or value is None or abs(float(stored) - float(value)) > 1e-9:
                return False
        elif isinstance(value, datetime) and isinstance(stored, datetime):
            if value != stored:
                return False
        elif stored != value:
            return False
    return True


def _ticket_days(old: dict[str, Any] | None, new: dict[str, Any] | None, tz: tzinfo) -> set[date]:
    """The days whose sums change when a ticket goes from `old` to `new` (None: absent)."""
    if (
        old is None
        or new is None
        or not _same(_pick(old, TICKET_DIMENSIONS), _pick(new, TICKET_DIMENSIONS))
    ):
        return _event_days(FactType.TICKET, old, tz) | _event_days(FactType.TICKET, new, tz)
    days: set[date] = set()
    for event, inputs in TICKET_EVENT_INPUTS.items():
        if not _same(_pick(old, inputs), _pick(new, inputs)):
            days |= {local_day(v[event], tz) for v in (old, new) if v[event] is not None}
    return days


def _pick(values: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {f: values[f] for f in fields}


def touched_days(
    session: Session, source_id: int, items: Iterable[FactOrDeletion], tz: tzinfo
) -> set[date]:
    incoming: dict[FactType, dict[str, dict[str, Any] | None]] = {t: {} for t in ROWS}
    for item in items:
        if item.fact_type not in incoming or isinstance(item, MatchedDeletion):
            continue  # resolved to a Deletion before it is stored (app.facts.matching)
        if isinstance(item, Deletion):
            incoming[item.fact_type][item.external_id] = None
        else:
            fields = ROWS[item.fact_type][1]
            incoming[item.fact_type][item.external_id] = {f: getattr(item, f) for f in fields}
    days: set[date] = set()
    rescoped_tickets: list[str] = []
    flipped_technicians: list[str] = []
    for fact_type, facts in incoming.items():
        if not facts:
            continue
        stored = _stored(session, source_id, fact_type, sorted(facts))
        for external_id, new in facts.items():
            old = stored.get(external_id)
            if old is None and new is None:
                continue
            if old is not None and new is not None and _same(old, new):
                continue
            if fact_type is FactType.TECHNICIAN:
                # Its time (maybe stored before the technician was) counts differently now.
                flipped_technicians.append(external_id)
                continue
            if fact_type is FactType.TICKET:
                days |= _ticket_days(old, new, tz)
            else:
                days |= _event_days(fact_type, old, tz) | _event_days(fact_type, new, tz)
            if (
                fact_type is FactType.TICKET
                and old is not None
                and (new is None or any(old[f] != new[f] for f in TICKET_SCOPE))
            ):
                rescoped_tickets.append(external_id)
    days |= _dependent_days(session, source_id, rescoped_tickets, flipped_technicians, tz)
    return days


def _dependent_days(
    session: Session, source_id: int, tickets: list[str], technicians: list[str], tz: tzinfo
) -> set[date]:
    days: set[date] = set()
    for i in range(0, len(tickets), IN_BATCH):
        batch = tickets[i : i + IN_BATCH]
        days.update(
            session.scalars(
                select(TimeEntryRow.work_date)
                .where(
                    TimeEntryRow.source_id == source_id,
                    TimeEntryRow.ticket_external_id.in_(batch),
                )
                .distinct()
            )
        )
        days.update(
            local_day(moment, tz)
            for moment in session.scalars(
                select(SurveyResponseRow.completed_at).where(
                    SurveyResponseRow.source_id == source_id,
                    SurveyResponseRow.ticket_external_id.in_(batch),
                )
            )
        )
    for i in range(0, len(technicians), IN_BATCH):
        days.update(
            session.scalars(
                select(TimeEntryRow.work_date)
                .where(
                    TimeEntryRow.source_id == source_id,
                    TimeEntryRow.technician_external_id.in_(technicians[i : i + IN_BATCH]),
                )
                .distinct()
            )
        )
    return days


def store_facts(
    session: Session,
    source_id: int,
    items: Sequence[FactOrDeletion],
    tz: tzinfo,
    *,
    mark_days: bool = True,
) -> WriteResult:
    """Write facts and mark the KPI days they change as dirty, in the caller's transaction.

    `mark_days=False` skips the marking, for a source whose rollups are to be rebuilt whole
    (`request_rebuild`): working out each fact's days would cost more than the rebuild."""
    if not mark_days:
        return write_facts(session, source_id, items)
    days = touched_days(session, source_id, items, tz)
    written = write_facts(session, source_id, items)
    mark_dirty(session, source_id, days)
    return written
