"""The sync runner: pages -> facts -> one commit per page with the cursor.

For a source and a stream it reads pages from the connector, normalises them, upserts the
facts and advances the stream's cursor in one transaction per page, so a crash loses at most
the page in flight and a re-run is idempotent. Every run is recorded in `sync_runs`
(`app.ingest.run_book`); a record that cannot be read is quarantined, not dropped and not
allowed to block its stream (`app.ingest.quarantine`); which streams run and with what is
decided in `app.ingest.selection`.

What a failure does:
- AuthError / ConfigError: the source is marked `needs_attention` and is not scheduled again
  until its settings are edited; the remaining streams are skipped.
- TransientError (PSA busy or down, budget spent): the stream is retried on a later tick with
  exponential backoff (or the PSA's Retry-After); the remaining streams are skipped.
- FatalError or a bug: the run is recorded as failed with backoff; other streams go on.

Each pass also records which days of the PSA's history it read (`app.ingest.history`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import structlog
from sqlalchemy import select

from app.db import Database, utcnow
from app.facts.store import fact_types_held
from app.ingest import run_book
from app.ingest.history import first_whole_day, record_history_from
from app.ingest.models import RunStatus, SyncCursor, SyncRun
from app.ingest.page_store import PageStore
from app.ingest.prepare import prepare_connector
from app.ingest.quarantine import normalize_page
from app.ingest.run_book import ProgressCallback, StreamOutcome, StreamProgress, failure_backoff
from app.ingest.selection import (
    REDUNDANT_SWEEP_NOTE,
    chosen_streams,
    deletion_log_start,
    due_streams,
    in_run_order,
    is_dated,
    moves_kpis_now,
    redundant_sweep,
    stream_intervals,
)
from app.ingest.sweep_slices import end_listing, plan_slice
from app.kpis.rollup import rebuild_pending, refresh_after_sync, request_rebuild
from app.logging import secrets_registry
from app.security.crypto import CredentialCipher, CredentialCipherError
from app.settings import Settings
from app.sources.governor import source_http_limits, source_pace
from app.sources.models import Source
from app.sources.service import build_connector
from connectors.sdk import (
    AuthError,
    ConfigError,
    Connector,
    ConnectorError,
    FactType,
    Page,
    StreamMode,
    StreamSpec,
    TransientError,
)
from connectors.sdk.http import RequestStats

log = structlog.get_logger(__name__)

__all__ = ["ProgressCallback", "StreamOutcome", "StreamProgress", "SyncResult", "SyncRunner"]
__all__ += ["TransportResolver", "Trigger", "failure_backoff"]


class Trigger:
    SCHEDULE = "schedule"
    MANUAL = "manual"  # a "sync now" request (POST /api/v1/sources/{id}/sync)
    CLI = "cli"
    BACKFILL = "backfill"
    PUSH = "push"  # records a PSA announced, read again by id (app.push.drain)


TransportResolver = Callable[[Source], httpx.AsyncBaseTransport | None]


class SyncResult(list[StreamOutcome]):
    """The outcome of each stream synced, in order, and the KPI days re-aggregated after
    them (once per source sync, not per stream: a backfill's days are summed once)."""

    days_reaggregated: int = 0
    kpi_seconds: float = 0.0
    # The "sync now" request this sync answered, if any.
    answered_request: datetime | None = None
    # What the connector's `prepare` (the sync's one-off requests) cost, before any stream.
    setup_requests: int = 0
    setup_seconds: float = 0.0


@dataclass
class _SyncPlan:
    """What one source sync carries from stream to stream."""

    trigger: str
    started: datetime
    full: bool
    since: datetime | None
    mark_days: bool
    requested_at: datetime | None
    held_before: set[FactType]
    first_reads: set[FactType] = field(default_factory=set)


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
        self.pages = PageStore(db, settings.tz)

    def due_streams(self, source: Source, specs: Sequence[StreamSpec], now: datetime) -> list[str]:
        """Streams whose interval has passed (or all, when a sync was requested), outside
        any failure backoff unless requested (`app.ingest.selection.due_streams`)."""
        with self.db.session() as session:
            cursors = {
                c.stream: c
                for c in session.scalars(
                    select(SyncCursor).where(SyncCursor.source_id == source.id)
                )
            }
            for cursor in cursors.values():
                session.expunge(cursor)
            frequent, slow = stream_intervals(source, specs)
            limits = source_http_limits(source)
            pace = source_pace(session, source.id, limits, frequent, slow, now)
        requested = source.sync_requested_at is not None
        return due_streams(source, specs, cursors, now, requested=requested, pace=pace)

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
        """Sync the given (or all, or only the due) streams of a source (`in_run_order`),
        then re-aggregate the KPI days their facts changed, a live stream's right after it
        (after a first sync or a full re-read: rebuild the rollups whole, `_rebuilds_after`).

        The caller holds the source's sync lock. `full` ignores stored cursors (a complete
        re-read); `since` starts reads of dated facts without a cursor at that time
        (backfill). A scheduled sync that finds a "sync now" request pending answers it: every
        stream runs, recorded with trigger `manual`, and the request is cleared (only that
        one: a request made while it runs is answered by the next sync).
        """
        started = utcnow()
        with self.db.session() as session:
            source = session.get(Source, source_id)
            if source is None:
                return SyncResult()
            run_book.mark_interrupted_runs(session, source_id)
            held_before = fact_types_held(session, source_id)
            session.expunge(source)
        if trigger == Trigger.SCHEDULE and not source.schedulable:
            return SyncResult()
        requested_at = source.sync_requested_at if trigger == Trigger.SCHEDULE else None
        if requested_at is not None:
            trigger, only_due = Trigger.MANUAL, False
        bound = structlog.contextvars.bound_contextvars(source=source.name, source_id=source.id)
        with bound:
            try:
                connector, stats = build_connector(
                    source,
                    self.cipher,
                    reporting_tz=self.settings.tz,
                    transport=self.transports(source),
                    db=self.db,
                )
            except (ConnectorError, CredentialCipherError) as exc:
                run_book.needs_attention(self.db, source.id, exc.code, str(exc))
                return SyncResult()
            try:
                specs = chosen_streams(source.name, list(connector.streams.values()), streams)
                if only_due:
                    wanted = set(self.due_streams(source, specs, started))
                    specs = [s for s in specs if s.name in wanted]
                outcomes = SyncResult()
                if specs:
                    prepared = await prepare_connector(connector, stats)
                    outcomes.setup_requests = prepared.requests
                    outcomes.setup_seconds = prepared.seconds
                # A tick with nothing due writes nothing, not even a rebuild request.
                plan = _SyncPlan(
                    trigger=trigger,
                    started=started,
                    full=full,
                    since=since,
                    mark_days=not specs or not self._rebuilds_after(source.id, full=full),
                    requested_at=requested_at,
                    held_before=held_before,
                )
                for spec in in_run_order(specs, held_before):
                    outcome = await self._run_stream(source, connector, stats, spec, plan, progress)
                    outcomes.append(outcome)
                    if outcome.stops_source:
                        break
                    if plan.mark_days and moves_kpis_now(spec, outcome.facts_changed):
                        outcomes.days_reaggregated += self._refresh_kpis(source.id)
                if requested_at is not None:
                    run_book.clear_request(self.db, source.id, requested_at)
                    outcomes.answered_request = requested_at
            finally:
                await connector.aclose()
                self._record_history_from(source.id, list(connector.streams))
                # Also after a failure: what was stored is true, and its days are dirty.
                kpi_started = time.perf_counter()
                days = self._refresh_kpis(source.id)
            outcomes.days_reaggregated += days
            outcomes.kpi_seconds = time.perf_counter() - kpi_started
            return outcomes

    async def _run_stream(
        self,
        source: Source,
        connector: Connector,
        stats: RequestStats,
        spec: StreamSpec,
        plan: _SyncPlan,
        progress: ProgressCallback | None,
    ) -> StreamOutcome:
        run_started = utcnow()
        since = plan.since if is_dated(spec) else None
        with self.db.session() as session:
            run = SyncRun(
                source_id=source.id,
                stream=spec.name,
                trigger=plan.trigger,
                started_at=run_started,
                requested_at=plan.requested_at,
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
            # what is gone, so it never resumes half way. A stream that is not dated but was
            # once read from a backfill's date (older versions did) is read whole again.
            restart = plan.full or spec.sweeps is not None
            restart = restart or (not is_dated(spec) and state.history_since is not None)
            cursor = None if restart else state.cursor
            from_start = cursor is None
            # An id sweep lists one slice of the ids a run (`app.ingest.sweep_slices`).
            period = self.settings.sweep_period_hours
            listed = plan_slice(session, source, spec, state, full=plan.full, period_hours=period)
            cursor = listed.read_cursor() if listed is not None else cursor
            since_day = None if since is None else first_whole_day(since, self.settings.tz)
            if from_start and not state.history_read:
                # The stream's first read: the day it starts from is kept until it is done,
                # so a read interrupted and resumed from its cursor still knows it.
                state.history_since = since_day
            first_read = from_start and not state.history_read
            read_since = deletion_log_start(
                spec, since, first_read, held_before=plan.held_before, sync_started=plan.started
            )
        outcome = StreamOutcome(stream=spec.name, status=RunStatus.RUNNING, run_id=run_id)
        if redundant_sweep(spec, plan.first_reads, plan.held_before):
            outcome.status = RunStatus.SUCCEEDED
            outcome.warn(REDUNDANT_SWEEP_NOTE.format(facts=spec.sweeps))
            run_book.finish_run(self.db, source.id, outcome, None, sync_started=plan.started)
            return outcome
        outcome.warn(*([listed.note()] if listed is not None else []))
        requests_before = stats.requests
        stream_began = time.perf_counter()
        tracker = StreamProgress(source=source.name, stream=spec.name)
        retry_after: float | None = None
        with structlog.contextvars.bound_contextvars(stream=spec.name, run_id=run_id):
            log.info("sync_stream_started", trigger=plan.trigger, resuming=not from_start)
            try:
                async for page in connector.read(spec.name, cursor, since=read_since):
                    store_started = time.perf_counter()
                    outcome.pages += 1
                    outcome.records += len(page.records) or len(page.seen_ids)
                    outcome.warn(*page.warnings)
                    outcome.requests = stats.requests - requests_before
                    # In a worker thread: the connector's reads ahead go on while it stores.
                    await asyncio.to_thread(
                        self._store_page, source.id, connector, spec, page, outcome, plan
                    )
                    outcome.store_seconds += time.perf_counter() - store_started
                    tracker.pages, tracker.records = outcome.pages, outcome.records
                    tracker.total_hint = page.total_hint
                    if progress:
                        progress(tracker)
                if spec.sweeps is not None:
                    marks = plan.mark_days
                    end_listing(self.pages, source.id, spec, run_started, outcome, marks, listed)
                self.pages.retry_quarantined(source.id, connector, spec, outcome, plan.mark_days)
                outcome.status = RunStatus.SUCCEEDED
                if from_start and spec.mode is StreamMode.INCREMENTAL:
                    plan.first_reads.update(spec.produces)
            except ConnectorError as exc:
                outcome.status = RunStatus.FAILED
                outcome.error_code = exc.code
                outcome.error_message = secrets_registry.scrub(exc.message)
                if isinstance(exc, AuthError | ConfigError):
                    run_book.needs_attention(self.db, source.id, exc.code, outcome.error_message)
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
                log.exception("sync_stream_crashed")
            outcome.requests = stats.requests - requests_before
            outcome.wall_seconds = time.perf_counter() - stream_began
            run_book.finish_run(
                self.db,
                source.id,
                outcome,
                retry_after,
                from_start=from_start,
                since_day=since_day,
                sync_started=plan.started,
            )
            log.info(
                "sync_stream_finished",
                status=outcome.status.value,
                pages=outcome.pages,
                records=outcome.records,
                changed=outcome.facts_changed,
                deleted=outcome.facts_deleted,
                skipped=outcome.records_skipped,
                requests=outcome.requests,
            )
        return outcome

    def _store_page(
        self,
        source_id: int,
        connector: Connector,
        spec: StreamSpec,
        page: Page,
        outcome: StreamOutcome,
        plan: _SyncPlan,
    ) -> None:
        normalized = normalize_page(connector, spec, page.records)
        self.pages.store(source_id, spec, page, normalized, outcome, plan.mark_days)

    def _rebuilds_after(self, source_id: int, *, full: bool) -> bool:
        """Whether this sync ends with a whole rebuild of the source's rollups, so its pages
        need not mark the days they change: a complete re-read, a first sync (no facts
        stored yet), or a backfill interrupted before its rebuild."""
        with self.db.session() as session:
            if full or not fact_types_held(session, source_id):
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

    def _record_history_from(self, source_id: int, streams: Sequence[str]) -> None:
        try:
            with self.db.session() as session:
                record_history_from(session, source_id, streams, self.settings.tz)
        except Exception:
            log.exception("history_from_failed")
