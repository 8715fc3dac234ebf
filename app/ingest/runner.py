"""The sync runner: pages -> facts -> one commit per page with the cursor.

For a source and a stream it reads pages from the connector, normalises them, upserts the
facts and advances the stream's cursor in one transaction per page, so a crash loses at most
the page in flight and a re-run is idempotent. Every run is recorded in `sync_runs`.

What a failure does:
- AuthError / ConfigError: the source is marked `needs_attention` and is not scheduled again
  until its settings are edited; the remaining streams are skipped.
- TransientError (PSA busy or down, budget spent): the stream is retried on a later tick with
  exponential backoff (or the PSA's Retry-After); the remaining streams are skipped.
- FatalError or a bug: the run is recorded as failed with backoff; other streams go on.

Each pass also records which days of the PSA's history it read (`app.ingest.history`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.errors import InvalidInput
from app.facts.store import WriteResult, forget_seen, has_facts, remember_seen, unseen_ids
from app.ingest.history import first_whole_day, record_history_from, record_history_read
from app.ingest.models import RunStatus, SyncCursor, SyncRun
from app.kpis.dirty import store_facts
from app.kpis.rollup import rebuild_pending, refresh_after_sync, request_rebuild
from app.logging import secrets_registry
from app.security.crypto import CredentialCipher, CredentialCipherError
from app.settings import Settings
from app.sources.models import Source, SourceStatus
from app.sources.service import build_connector
from connectors.sdk import (
    AuthError,
    ConfigError,
    Connector,
    ConnectorError,
    Deletion,
    FactOrDeletion,
    Page,
    StreamSpec,
    SyncInterval,
    TransientError,
)
from connectors.sdk.http import RequestStats

log = structlog.get_logger(__name__)

MAX_BACKOFF = timedelta(hours=1)


class Trigger:
    SCHEDULE = "schedule"
    MANUAL = "manual"
    CLI = "cli"
    BACKFILL = "backfill"


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
TransportResolver = Callable[[Source], httpx.AsyncBaseTransport | None]


@dataclass
class StreamOutcome:
    stream: str
    status: RunStatus
    run_id: int
    pages: int = 0
    records: int = 0
    facts_changed: int = 0
    facts_deleted: int = 0
    requests: int = 0
    error_code: str | None = None
    error_message: str | None = None
    # The failure would repeat for the source's other streams (credentials, PSA down).
    stops_source: bool = False
    # Seconds spent normalising and storing pages (the rest is waiting for the PSA).
    store_seconds: float = 0.0


class SyncResult(list[StreamOutcome]):
    """The outcome of each stream synced, in order, and the KPI days re-aggregated after
    them (once per source sync, not per stream: a backfill's days are summed once)."""

    days_reaggregated: int = 0
    kpi_seconds: float = 0.0


def failure_backoff(failures: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter between failed attempts: 1, 2, 4 ... minutes, ≤ 1 h."""
    delay = timedelta(minutes=min(60.0, 2 ** max(0, failures - 1)))
    delay = min(MAX_BACKOFF, delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


class SyncRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        cipher: CredentialCipher,
        *,
        transports: TransportResolver | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.cipher = cipher
        self.transports = transports or (lambda _source: None)

    # ---- selecting what to run -------------------------------------------------------------

    def due_streams(self, source: Source, specs: Sequence[StreamSpec], now: datetime) -> list[str]:
        """Streams whose interval has passed (or a sync was requested), outside any backoff."""
        with self.db.session() as session:
            cursors = {
                c.stream: c
                for c in session.scalars(
                    select(SyncCursor).where(SyncCursor.source_id == source.id)
                )
            }
        due = []
        for spec in specs:
            state = cursors.get(spec.name)
            if state is None:
                due.append(spec.name)
                continue
            if state.next_attempt_at is not None and state.next_attempt_at > now:
                continue
            requested = source.sync_requested_at is not None and (
                state.last_attempt_at is None or source.sync_requested_at > state.last_attempt_at
            )
            interval = timedelta(
                minutes=source.interval_minutes(spec.interval is SyncInterval.FAST)
            )
            # A few seconds of slack so a job firing exactly on the interval is not a tick late.
            fresh = state.last_success_at is not None and now - state.last_success_at < (
                interval - timedelta(seconds=5)
            )
            if requested or not fresh:
                due.append(spec.name)
        return due

    # ---- running ---------------------------------------------------------------------------

    async def sync_source(
        self,
        source_id: int,
        *,
        trigger: str,
        streams: Sequence[str] | None = None,
        only_due: bool = False,
        full: bool = False,
        since: datetime | None = None,
        progress: ProgressCallback | None = None,
    ) -> SyncResult:
        """Sync the given (or all, or only the due) streams of a source, in declared order,
        then re-aggregate the KPI days their facts changed (or, after a first sync or a full
        re-read, rebuild the source's rollups whole: see `_rebuilds_after`).

        The caller holds the source's sync lock. `full` ignores stored cursors (a complete
        re-read); `since` starts reads without a cursor at that time (backfill).
        """
        started = utcnow()
        with self.db.session() as session:
            source = session.get(Source, source_id)
            if source is None:
                return SyncResult()
            self._mark_interrupted_runs(session, source_id)
            session.expunge(source)
        if trigger == Trigger.SCHEDULE and not source.schedulable:
            return SyncResult()
        bound = structlog.contextvars.bound_contextvars(source=source.name, source_id=source.id)
        with bound:
            try:
                connector, stats = build_connector(
                    source,
                    self.cipher,
                    reporting_tz=self.settings.tz,
                    transport=self.transports(source),
                )
            except (ConnectorError, CredentialCipherError) as exc:
                self._needs_attention(source.id, exc.code, str(exc))
                return SyncResult()
            try:
                specs = list(connector.streams.values())
                if streams is not None:
                    unknown = set(streams) - {s.name for s in specs}
                    if unknown:
                        raise InvalidInput(
                            f"Unknown stream(s) {', '.join(sorted(unknown))}. This source has: "
                            + ", ".join(s.name for s in specs),
                            code="unknown_stream",
                        )
                    specs = [s for s in specs if s.name in streams]
                if only_due:
                    wanted = set(self.due_streams(source, specs, started))
                    specs = [s for s in specs if s.name in wanted]
                outcomes = SyncResult()
                # A tick with nothing due writes nothing, not even a rebuild request.
                mark_days = not specs or not self._rebuilds_after(source.id, full=full)
                for spec in specs:
                    outcome = await self._run_stream(
                        source,
                        connector,
                        stats,
                        spec,
                        trigger=trigger,
                        full=full,
                        since=since,
                        mark_days=mark_days,
                        progress=progress,
                    )
                    outcomes.append(outcome)
                    if outcome.stops_source:
                        break
                self._clear_request(source.id, started)
            finally:
                await connector.aclose()
                self._record_history_from(source.id, list(connector.streams))
                # Also after a failure: what was stored is true, and its days are dirty.
                kpi_started = time.perf_counter()
                days = self._refresh_kpis(source.id)
            outcomes.days_reaggregated = days
            outcomes.kpi_seconds = time.perf_counter() - kpi_started
            return outcomes

    async def _run_stream(
        self,
        source: Source,
        connector: Connector,
        stats: RequestStats,
        spec: StreamSpec,
        *,
        trigger: str,
        full: bool,
        since: datetime | None,
        mark_days: bool,
        progress: ProgressCallback | None,
    ) -> StreamOutcome:
        run_started = utcnow()
        with self.db.session() as session:
            run = SyncRun(
                source_id=source.id, stream=spec.name, trigger=trigger, started_at=run_started
            )
            session.add(run)
            state = session.get(SyncCursor, (source.id, spec.name))
            if state is None:
                state = SyncCursor(source_id=source.id, stream=spec.name)
                session.add(state)
            state.last_attempt_at = run_started
            session.flush()
            run_id = run.id
            # A listing stream (sweep / full refresh) must see everything in one pass to know
            # what is gone, so it never resumes half way.
            cursor = None if (full or spec.sweeps is not None) else state.cursor
            from_start = cursor is None
            since_day = None if since is None else first_whole_day(since, self.settings.tz)
            if from_start and not state.history_read:
                # The stream's first read: the day it starts from is kept until it is done,
                # so a read interrupted and resumed from its cursor still knows it.
                state.history_since = since_day
        outcome = StreamOutcome(stream=spec.name, status=RunStatus.RUNNING, run_id=run_id)
        requests_before = stats.requests
        tracker = StreamProgress(source=source.name, stream=spec.name)
        with structlog.contextvars.bound_contextvars(stream=spec.name, run_id=run_id):
            log.info("sync_stream_started", trigger=trigger, resuming=cursor is not None)
            try:
                async for page in connector.read(spec.name, cursor, since=since):
                    store_started = time.perf_counter()
                    facts = [f for r in page.records for f in connector.normalize(spec.name, r)]
                    written = self._store_page(
                        source.id, spec, run_id, page, facts, outcome, mark_days=mark_days
                    )
                    outcome.pages += 1
                    outcome.records += len(page.records) or len(page.seen_ids)
                    outcome.facts_changed += written.changed
                    outcome.facts_deleted += written.deleted
                    outcome.store_seconds += time.perf_counter() - store_started
                    tracker.pages, tracker.records = outcome.pages, outcome.records
                    tracker.total_hint = page.total_hint
                    if progress:
                        progress(tracker)
                if spec.sweeps is not None:
                    self._remove_unseen(
                        source.id, spec, run_id, run_started, outcome, mark_days=mark_days
                    )
                outcome.status = RunStatus.SUCCEEDED
            except ConnectorError as exc:
                outcome.status = RunStatus.FAILED
                outcome.error_code = exc.code
                outcome.error_message = secrets_registry.scrub(exc.message)
                if isinstance(exc, AuthError | ConfigError):
                    self._needs_attention(source.id, exc.code, outcome.error_message)
                retry_after = exc.retry_after if isinstance(exc, TransientError) else None
                outcome.stops_source = isinstance(exc, AuthError | ConfigError | TransientError)
                log.warning("sync_stream_failed", code=exc.code, message=outcome.error_message)
            except Exception as exc:
                outcome.status = RunStatus.FAILED
                outcome.error_code = "internal_error"
                outcome.error_message = (
                    f"Northstar hit an unexpected problem ({type(exc).__name__}); "
                    "the sync will resume from its last stored page. See the service log."
                )
                retry_after = None
                log.exception("sync_stream_crashed")
            outcome.requests = stats.requests - requests_before
            self._finish_run(
                source.id,
                spec,
                outcome,
                retry_after if outcome.error_code else None,
                from_start=from_start,
                since_day=since_day,
            )
            log.info(
                "sync_stream_finished",
                status=outcome.status.value,
                pages=outcome.pages,
                records=outcome.records,
                changed=outcome.facts_changed,
                deleted=outcome.facts_deleted,
                requests=outcome.requests,
            )
        return outcome

    def _store_page(
        self,
        source_id: int,
        spec: StreamSpec,
        run_id: int,
        page: Page,
        facts: list[FactOrDeletion],
        outcome: StreamOutcome,
        *,
        mark_days: bool,
    ) -> WriteResult:
        with self.db.session() as session:
            written = store_facts(session, source_id, facts, self.settings.tz, mark_days=mark_days)
            if spec.sweeps is not None:
                seen = [f.external_id for f in facts if f.fact_type == spec.sweeps]
                remember_seen(session, run_id, [*page.seen_ids, *seen])
            else:
                session.execute(
                    update(SyncCursor)
                    .where(SyncCursor.source_id == source_id, SyncCursor.stream == spec.name)
                    .values(cursor=dict(page.cursor))
                )
            session.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id)
                .values(
                    pages=outcome.pages + 1,
                    records=outcome.records + (len(page.records) or len(page.seen_ids)),
                    facts_changed=outcome.facts_changed + written.changed,
                    facts_deleted=outcome.facts_deleted + written.deleted,
                )
            )
        return written

    def _remove_unseen(
        self,
        source_id: int,
        spec: StreamSpec,
        run_id: int,
        run_started: datetime,
        outcome: StreamOutcome,
        *,
        mark_days: bool,
    ) -> None:
        assert spec.sweeps is not None
        with self.db.session() as session:
            gone = unseen_ids(session, source_id, spec.sweeps, run_id, synced_before=run_started)
            deletions = [Deletion(spec.sweeps, external_id) for external_id in gone]
            outcome.facts_deleted += store_facts(
                session, source_id, deletions, self.settings.tz, mark_days=mark_days
            ).deleted
            forget_seen(session, run_id)

    def _rebuilds_after(self, source_id: int, *, full: bool) -> bool:
        """Whether this sync ends with a whole rebuild of the source's rollups, so its pages
        need not mark the days they change: a complete re-read, a first sync (no facts
        stored yet), or a backfill interrupted before its rebuild."""
        with self.db.session() as session:
            if full or not has_facts(session, source_id):
                request_rebuild(session, source_id)
                return True
            return rebuild_pending(session, source_id)

    def _refresh_kpis(self, source_id: int) -> int:
        """Re-aggregate the KPI days this run's pages changed, or rebuild the source's
        rollups whole after a backfill (also after a failure: what was stored is true). A
        failure here leaves the days dirty, or the rebuild pending, for the next run."""
        try:
            with self.db.session() as session:
                return refresh_after_sync(session, source_id, self.settings.tz)
        except Exception:
            log.exception("kpi_refresh_failed")
            return 0

    def _finish_run(
        self,
        source_id: int,
        spec: StreamSpec,
        outcome: StreamOutcome,
        retry_after: float | None,
        *,
        from_start: bool = False,
        since_day: date | None = None,
    ) -> None:
        now = utcnow()
        with self.db.session() as session:
            run = session.get(SyncRun, outcome.run_id)
            state = session.get(SyncCursor, (source_id, spec.name))
            assert run is not None and state is not None
            run.status = outcome.status
            run.finished_at = now
            if spec.sweeps is not None:
                forget_seen(session, outcome.run_id)  # a failed pass starts over next time
            run.requests = outcome.requests
            run.error_code = outcome.error_code
            run.error_message = outcome.error_message
            if outcome.status is RunStatus.SUCCEEDED:
                state.last_success_at = now
                state.consecutive_failures = 0
                state.next_attempt_at = None
                record_history_read(state, from_start=from_start, since_day=since_day)
            else:
                state.consecutive_failures += 1
                state.next_attempt_at = now + failure_backoff(
                    state.consecutive_failures, retry_after
                )

    def _record_history_from(self, source_id: int, streams: Sequence[str]) -> None:
        try:
            with self.db.session() as session:
                record_history_from(session, source_id, streams, self.settings.tz)
        except Exception:
            log.exception("history_from_failed")

    def _needs_attention(self, source_id: int, code: str, message: str) -> None:
        with self.db.session() as session:
            session.execute(
                update(Source)
                .where(Source.id == source_id)
                .values(
                    status=SourceStatus.NEEDS_ATTENTION, status_code=code, status_message=message
                )
            )
        log.warning("source_needs_attention", code=code, message=message)

    def _clear_request(self, source_id: int, started: datetime) -> None:
        with self.db.session() as session:
            session.execute(
                update(Source)
                .where(Source.id == source_id, Source.sync_requested_at <= started)
                .values(sync_requested_at=None)
            )

    @staticmethod
    def _mark_interrupted_runs(session: Session, source_id: int) -> None:
        # The caller holds the source's lock, so a run still "running" belongs to a process
        # that stopped; its stored pages stand and the next run resumes after them.
        session.execute(
            update(SyncRun)
            .where(SyncRun.source_id == source_id, SyncRun.status == RunStatus.RUNNING)
            .values(status=RunStatus.INTERRUPTED, finished_at=utcnow())
        )
