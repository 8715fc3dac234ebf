"""Data coverage, as the sync runner records it (read by `app.kpis.coverage`).

A stream pass that started from no cursor (a first sync, a full re-read, a backfill from
`since`, every sweep) marks the stream's history as read when it succeeds, from `since`'s
first whole day in the reporting zone (None: the PSA's history whole). Once every stream of
the connector is read, the source's `history_from` is the latest of those days, or its
earliest fact when every stream was read whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.facts.models import SurveyResponseRow, TicketRow, TimeEntryRow
from app.ingest.models import SyncCursor
from app.kpis.sql_time import local_day, utc_bounds
from app.sources.models import Source


def first_whole_day(since: datetime, tz: tzinfo) -> date:
    """The first reporting-zone day a read from `since` holds whole: `since`'s own day when
    it starts at (or before) that day's local midnight, else the day after."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    day = local_day(since, tz)
    midnight, _ = utc_bounds(day, day, tz)
    return day if since <= midnight else day + timedelta(days=1)


def earliest_fact_day(session: Session, source_id: int, tz: tzinfo) -> date | None:
    """The reporting-zone day of the source's earliest ticket, time entry or survey
    response (recurring revenue is left out: its start dates predate the data). Three
    min() over indexed columns."""
    created = session.scalar(
        select(func.min(TicketRow.created_at)).where(TicketRow.source_id == source_id)
    )
    worked = session.scalar(
        select(func.min(TimeEntryRow.work_date)).where(TimeEntryRow.source_id == source_id)
    )
    completed = session.scalar(
        select(func.min(SurveyResponseRow.completed_at)).where(
            SurveyResponseRow.source_id == source_id
        )
    )
    days = [
        *(local_day(moment, tz) for moment in (created, completed) if moment is not None),
        *([worked] if worked is not None else []),
    ]
    return min(days) if days else None


def record_history_from(
    session: Session, source_id: int, streams: Sequence[str], tz: tzinfo
) -> date | None:
    """Work out and store the source's `history_from`: when every one of `streams` (the
    connector's) has been read from its start, the latest of their first days, or, when all
    were read whole, the earliest fact's day (a PSA with no facts at all: the day that was
    found, kept from then on); otherwise None."""
    source = session.get(Source, source_id)
    if source is None:
        return None
    cursors = {
        c.stream: c
        for c in session.scalars(select(SyncCursor).where(SyncCursor.source_id == source_id))
    }
    states = [cursors.get(name) for name in streams]
    history_from: date | None = None
    if states and all(c is not None and c.history_read for c in states):
        sinces = [c.history_since for c in states if c is not None and c.history_since]
        history_from = (
            max(sinces)
            if sinces
            else earliest_fact_day(session, source_id, tz)
            or source.history_from
            or local_day(utcnow(), tz)
        )
    if source.history_from != history_from:
        source.history_from = history_from
    return history_from


def record_history_read(state: SyncCursor, *, from_start: bool, since_day: date | None) -> None:
    """After a successful pass: the stream's history is read from `history_since` (None:
    whole). The first read of a stream is done when a pass succeeds, be it the one that
    started from no cursor or one that resumed it after an interruption (its first day
    was kept when it started). Later, only a pass from no cursor widens what is held (a
    later backfill never narrows it: the earlier days are still held, and kept up to
    date by the incremental passes); an incremental pass changes nothing."""
    if not state.history_read:
        state.history_read = True
    elif from_start:
        held = state.history_since
        state.history_since = None if held is None or since_day is None else min(held, since_day)
