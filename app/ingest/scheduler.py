"""Scheduled syncs (APScheduler 3.x, in a background thread pool).

One job per schedulable source fires at the shortest interval of its streams (the live one,
60 s by default, for a PSA with tickets and time entries) and syncs the streams that are due:
live streams every tick, fast and slow ones when their own interval has passed, failed ones
after their backoff. A job never overlaps itself (`max_instances=1`, `coalesce=True`: a tick
that comes while the previous sync still runs is dropped, so a stream due but still running
is never started twice), and across processes the source's sync lock (PostgreSQL advisory
lock) lets only one instance sync it.
A reconcile job follows the sources table, so sources added, edited or asked to sync through
any API process are picked up within `scheduler_tick_seconds`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from app.db import Database, utcnow
from app.ingest.locks import source_sync_lock
from app.ingest.registry import registry
from app.ingest.run_book import failure_backoff, next_attempt, record_crash
from app.ingest.runner import SyncRunner, Trigger
from app.ingest.selection import job_interval_seconds
from app.push.drain import push_cycle
from app.push.models import has_untried_notices, sources_with_unread_notices
from app.sources.models import Source, SourceStatus

log = structlog.get_logger(__name__)

RECONCILE_JOB = "reconcile-sources"
# The pool of the reconcile and the extra jobs (goal snapshots, alerts): a thread each, apart
# from the syncs' pool, so a long backfill never holds back a snapshot or an alert.
SERVICE_POOL = "service"
# Requests answered back to back by one job run before it yields to the next tick.
MAX_SYNCS_PER_JOB = 5


def _job_id(source_id: int) -> str:
    return f"sync-source-{source_id}"


def job_interval(source: Source) -> int:
    """Seconds between the source's ticks: its shortest stream interval (its fast one when
    its connector is not installed: nothing of it can sync anyway)."""
    cls = registry.get(source.kind)
    return job_interval_seconds(source, list(cls.streams.values()) if cls else [])


class SyncScheduler:
    def __init__(
        self,
        db: Database,
        runner: SyncRunner,
        *,
        tick_seconds: int = 30,
        max_parallel_sources: int = 4,
        extra_jobs: list[tuple[Callable[[], Any], IntervalTrigger, str]] | None = None,
    ) -> None:
        self.db = db
        self.runner = runner
        self.tick_seconds = tick_seconds
        self.last_reconcile_at: datetime | None = None
        self.syncs_in_progress: set[int] = set()
        self._guard = threading.Lock()
        self._crashes: dict[int, int] = {}  # source id -> syncs crashed in a row
        self._extra_jobs = extra_jobs or []
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={
                "default": ThreadPoolExecutor(max_workers=max_parallel_sources),
                SERVICE_POOL: ThreadPoolExecutor(max_workers=1 + len(self._extra_jobs)),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.add_job(
            self.reconcile,
            IntervalTrigger(seconds=self.tick_seconds),
            id=RECONCILE_JOB,
            next_run_time=datetime.now(UTC),
            executor=SERVICE_POOL,
        )
        for func, trigger, job_id in self._extra_jobs:
            self._scheduler.add_job(func, trigger, id=job_id, executor=SERVICE_POOL)
        self._scheduler.start()
        log.info("scheduler_started", tick_seconds=self.tick_seconds)

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
            log.info("scheduler_stopped")

    def state(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "last_reconcile_at": self.last_reconcile_at,
            "scheduled_sources": len(
                [j for j in self._scheduler.get_jobs() if j.id.startswith("sync-source-")]
            ),
            "syncs_in_progress": sorted(self.syncs_in_progress),
        }

    def reconcile(self) -> None:
        """Make the jobs match the sources table; wake sources someone asked to sync."""
        try:
            with self.db.session() as session:
                sources = list(session.scalars(select(Source)))
        except Exception:
            log.exception("scheduler_reconcile_failed")
            return
        wanted = {s.id: s for s in sources if s.status == SourceStatus.ACTIVE}
        pushed = self._sources_with_notices()
        for job in self._scheduler.get_jobs():
            if job.id.startswith("sync-source-") and int(job.id.rsplit("-", 1)[1]) not in wanted:
                job.remove()
        now = datetime.now(UTC)
        for source in wanted.values():
            interval = job_interval(source)
            job = self._scheduler.get_job(_job_id(source.id))
            if job is None:
                self._scheduler.add_job(
                    self.sync_source,
                    IntervalTrigger(seconds=interval),
                    args=[source.id],
                    id=_job_id(source.id),
                    next_run_time=now,
                )
            elif job.trigger.interval.total_seconds() != interval:
                job.reschedule(IntervalTrigger(seconds=interval))
            elif source.sync_requested_at is not None and source.id not in self.syncs_in_progress:
                job.modify(next_run_time=now)
            elif source.id in pushed and source.id not in self.syncs_in_progress:
                # Notices received by another process (an API without the scheduler).
                job.modify(next_run_time=now)
        self.last_reconcile_at = utcnow()

    def _notices_pending(self, source_id: int) -> bool:
        with self.db.session() as session:
            return has_untried_notices(session, source_id)

    def _sources_with_notices(self) -> set[int]:
        try:
            with self.db.session() as session:
                return sources_with_unread_notices(session)
        except Exception:
            log.exception("push_notices_unknown")
            return set()

    def wake(self, source_id: int, delay: timedelta = timedelta(0)) -> bool:
        """Run the source's job now, or after `delay` (a push notice waits for the rest of
        its burst), if this process schedules it. A job already due sooner keeps its time."""
        job = self._scheduler.get_job(_job_id(source_id)) if self.running else None
        if job is None:
            return False
        moment = datetime.now(UTC) + delay
        if delay <= timedelta(0) or job.next_run_time is None or moment < job.next_run_time:
            job.modify(next_run_time=moment)
        return True

    def sync_source(self, source_id: int) -> None:
        """The job body: sync the due streams of one source, unless another holds its lock.

        A "sync now" request made while the sync ran is answered straight after it, not at
        the next tick. A sync that crashes before any stream ran is recorded as a failed
        run and tried again after a backoff; a stream's backoff that ends before the next
        interval brings the job forward to it.
        """
        with source_sync_lock(self.db, source_id) as held:
            if not held:
                log.info("sync_skipped_locked", source_id=source_id)
                return
            with self._guard:
                self.syncs_in_progress.add(source_id)
            try:
                self._sync_until_no_request(source_id)
                # A wake that comes while the job runs is dropped (one instance at a time):
                # notices that came meanwhile are read now, not at the next tick.
                for _ in range(MAX_SYNCS_PER_JOB):
                    if not self._notices_pending(source_id):
                        break
                    self._read_pushed(source_id)
            finally:
                with self._guard:
                    self.syncs_in_progress.discard(source_id)
        self._follow_backoff(source_id)

    def _sync_until_no_request(self, source_id: int) -> None:
        self._read_pushed(source_id)
        answered: datetime | None = None
        for _ in range(MAX_SYNCS_PER_JOB):
            try:
                result = asyncio.run(
                    self.runner.sync_source(source_id, trigger=Trigger.SCHEDULE, only_due=True)
                )
            except Exception as exc:
                log.exception("scheduled_sync_crashed", source_id=source_id)
                self._after_crash(source_id, exc)
                return
            self._crashes.pop(source_id, None)
            # Notices that came while the sync ran are read now, not at the next tick.
            self._read_pushed(source_id)
            answered = result.answered_request or answered
            pending = self._pending_request(source_id)
            if pending is None or pending == answered:
                return

    def _read_pushed(self, source_id: int) -> None:
        """Register for push as the settings ask and read the records the PSA announced
        (`app.push.drain`); more than one batch brings the job back at once."""
        result = asyncio.run(push_cycle(self.runner, source_id))
        if result.follow_up:
            asyncio.run(
                self.runner.sync_source(source_id, trigger=Trigger.PUSH, streams=result.follow_up)
            )
        if result.more_pending:
            self._bring_forward(source_id, datetime.now(UTC))

    def _pending_request(self, source_id: int) -> datetime | None:
        with self.db.session() as session:
            return session.scalar(select(Source.sync_requested_at).where(Source.id == source_id))

    def _after_crash(self, source_id: int, exc: Exception) -> None:
        failures = self._crashes[source_id] = self._crashes.get(source_id, 0) + 1
        message = (
            f"The sync stopped before it could start ({type(exc).__name__}); "
            "it is tried again shortly. See the service log."
        )
        try:
            delay = record_crash(self.db, source_id, Trigger.SCHEDULE, message, failures=failures)
        except Exception:
            log.exception("sync_crash_not_recorded", source_id=source_id)
            delay = failure_backoff(failures)
        self._bring_forward(source_id, datetime.now(UTC) + delay)

    def _follow_backoff(self, source_id: int) -> None:
        try:
            retry_at = next_attempt(self.db, source_id)
        except Exception:
            log.exception("sync_backoff_unknown", source_id=source_id)
            return
        if retry_at is not None:
            self._bring_forward(source_id, retry_at)

    def _bring_forward(self, source_id: int, moment: datetime) -> None:
        """Run the source's job at `moment` if that is before its next scheduled run."""
        job = self._scheduler.get_job(_job_id(source_id)) if self.running else None
        if job is None or job.next_run_time is None:
            return
        moment = max(moment, datetime.now(UTC))
        if moment < job.next_run_time:
            job.modify(next_run_time=moment)
