"""The sync's bookkeeping: what each run did (`sync_runs`), and where each stream stands.

Every run says what it read, wrote, deleted and skipped, what it had to do without
(warnings), and which "sync now" request it answers. A run still "running" when its source's
next sync starts belonged to a process that stopped: it is marked interrupted and the ids its
sweep had noted are dropped (the next sweep starts over).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.facts.seen_ids import forget_seen
from app.ingest.history import record_history_read
from app.ingest.models import RunStatus, SweepSeenId, SyncCursor, SyncRun
from app.sources.models import Source, SourceStatus

log = structlog.get_logger(__name__)

MAX_BACKOFF = timedelta(hours=1)
# The run recorded when a sync fails before any stream starts (it has no stream of its own).
WHOLE_SOURCE = "(whole source)"


@dataclass
class StreamProgress:
    """What a progress display needs, updated after every stored page."""

    source: str
    stream: str
    pages: int = 0
    records: int = 0
    total_hint: int | None = None
    started_at: datetime = field(default_factory=utcnow)


ProgressCallback = Callable[[StreamProgress], None]


@dataclass
class StreamOutcome:
    stream: str
    status: RunStatus
    run_id: int
    pages: int = 0
    records: int = 0
    facts_changed: int = 0
    facts_deleted: int = 0
    records_skipped: int = 0
    requests: int = 0
    warnings: list[str] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    # The failure would repeat for the source's other streams (credentials, PSA down).
    stops_source: bool = False
    # Seconds spent normalising and storing pages (the rest is waiting for the PSA).
    store_seconds: float = 0.0
    # Seconds from the stream's start to its end, storing included.
    wall_seconds: float = 0.0
    # False once a listing stream met a record without its id: nothing may be swept then.
    listing_complete: bool = True

    def warn(self, *messages: str) -> None:
        self.warnings.extend(m for m in messages if m not in self.warnings)

    def counts(self) -> dict[str, object]:
        """The run record's columns that grow with every page."""
        return {
            "pages": self.pages,
            "records": self.records,
            "facts_changed": self.facts_changed,
            "facts_deleted": self.facts_deleted,
            "records_skipped": self.records_skipped,
            "requests": self.requests,
            "warnings": list(self.warnings) or None,
        }


def failure_backoff(failures: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter between failed attempts: 1, 2, 4 ... minutes, ≤ 1 h."""
    delay = timedelta(minutes=min(60.0, 2 ** max(0, failures - 1)))
    delay = min(MAX_BACKOFF, delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def close_run(run: SyncRun, outcome: StreamOutcome, now: datetime) -> None:
    """The run record's final counts, status and error (its stream's state aside)."""
    for name, value in outcome.counts().items():
        setattr(run, name, value)
    run.status = outcome.status
    run.finished_at = now
    run.error_code = outcome.error_code
    run.error_message = outcome.error_message


def finish_run(
    db: Database,
    source_id: int,
    outcome: StreamOutcome,
    retry_after: float | None,
    *,
    from_start: bool = False,
    since_day: date | None = None,
    sync_started: datetime | None = None,
) -> None:
    """Close the run with its final counts and move the stream's success or backoff state.

    A success is dated `sync_started`, when the sync that ran the stream began (default:
    now): every change made before then has been read, and the next scheduled sync, which
    fires one interval after this one fired, finds the stream due however long the streams
    before and this one took."""
    now = utcnow()
    with db.session() as session:
        run = session.get(SyncRun, outcome.run_id)
        state = session.get(SyncCursor, (source_id, outcome.stream))
        assert run is not None and state is not None
        close_run(run, outcome, now)
        forget_seen(session, outcome.run_id)  # a failed listing starts over next time
        if outcome.status is RunStatus.SUCCEEDED:
            state.last_success_at = sync_started or now
            state.consecutive_failures = 0
            state.next_attempt_at = None
            record_history_read(state, from_start=from_start, since_day=since_day)
        else:
            state.consecutive_failures += 1
            state.next_attempt_at = now + failure_backoff(state.consecutive_failures, retry_after)


def mark_interrupted_runs(session: Session, source_id: int) -> None:
    """The caller holds the source's lock, so a run still "running" belongs to a process
    that stopped; its stored pages stand and the next run resumes after them."""
    stopped = list(
        session.scalars(
            select(SyncRun.id).where(
                SyncRun.source_id == source_id, SyncRun.status == RunStatus.RUNNING
            )
        )
    )
    if not stopped:
        return
    session.execute(
        update(SyncRun)
        .where(SyncRun.id.in_(stopped))
        .values(status=RunStatus.INTERRUPTED, finished_at=utcnow())
    )
    session.execute(delete(SweepSeenId).where(SweepSeenId.run_id.in_(stopped)))
    log.info("sync_runs_interrupted", runs=len(stopped))


def record_crash(
    db: Database, source_id: int, trigger: str, message: str, *, failures: int = 1
) -> timedelta:
    """A sync that failed before any stream ran still leaves a run (in `/runs` and
    `/health`); returns when to try again."""
    now = utcnow()
    with db.session() as session:
        session.add(
            SyncRun(
                source_id=source_id,
                stream=WHOLE_SOURCE,
                trigger=trigger,
                status=RunStatus.FAILED,
                started_at=now,
                finished_at=now,
                error_code="internal_error",
                error_message=message,
            )
        )
    return failure_backoff(failures)


def needs_attention(db: Database, source_id: int, code: str, message: str) -> None:
    with db.session() as session:
        session.execute(
            update(Source)
            .where(Source.id == source_id)
            .values(status=SourceStatus.NEEDS_ATTENTION, status_code=code, status_message=message)
        )
    log.warning("source_needs_attention", code=code, message=message)


def clear_request(db: Database, source_id: int, requested_at: datetime) -> None:
    """The request this sync answered is done; a newer one (asked for while it ran) stays
    for the next sync."""
    with db.session() as session:
        session.execute(
            update(Source)
            .where(Source.id == source_id, Source.sync_requested_at == requested_at)
            .values(sync_requested_at=None)
        )


def next_attempt(db: Database, source_id: int) -> datetime | None:
    """The earliest moment a stream of the source is due again after a failure."""
    with db.session() as session:
        return session.scalar(
            select(SyncCursor.next_attempt_at)
            .where(SyncCursor.source_id == source_id, SyncCursor.next_attempt_at.is_not(None))
            .order_by(SyncCursor.next_attempt_at)
            .limit(1)
        )
