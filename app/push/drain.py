"""Reading what the PSA announced: the records are read again by id, then stored.

Run by the source's scheduled job, under its sync lock, before and after its regular
sync (`push_cycle`). Each stream's announced records make one run in `/runs` with trigger
`push`; the KPI days they change are re-aggregated straight after, so a change shows
seconds after its notice. What the notice said is never stored: only what the PSA answers.

- A record the PSA no longer has is deleted only when the notice announced a deletion (the
  PSA's own answer confirms it). Otherwise it is logged and ignored: Northstar may not see
  it (a board it has no access to), and the id sweep decides what is gone.
- A read that fails leaves the notices pending for the next cycle; after `MAX_ATTEMPTS`
  they are dropped as expired (the regular check reads the change anyway).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select, update

from app.db import utcnow
from app.ingest.models import RunStatus, SyncRun
from app.ingest.quarantine import normalize_page
from app.ingest.run_book import StreamOutcome, close_run
from app.ingest.runner import SyncRunner, Trigger
from app.kpis.dirty import store_facts
from app.kpis.rollup import refresh_after_sync
from app.logging import secrets_registry
from app.push.models import NoticeOutcome, PushChannel, PushNoticeRow
from app.push.setup import PushWish, ensure_push, push_wanted, pushes
from app.sources.models import Source
from app.sources.service import build_connector
from connectors.sdk import (
    Connector,
    ConnectorError,
    Deletion,
    Pushable,
    PushAction,
    SyncInterval,
)
from connectors.sdk.http import RequestStats

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
# Notices read per cycle; more wait for the next one (the job is woken again at once).
BATCH = 500
UNREADABLE = (
    "{count} announced record(s) could not be read from the PSA (gone, or not visible to "
    "Northstar's API member); nothing was changed for them."
)


@dataclass
class PushCycleResult:
    runs: int = 0
    stored: int = 0
    deleted: int = 0
    ignored: int = 0
    more_pending: bool = False
    # Live streams the PSA does not announce (time entries), checked at once after notices
    # were read: logging time changes the ticket, which is what the PSA announces.
    follow_up: list[str] = field(default_factory=list)


async def push_cycle(runner: SyncRunner, source_id: int) -> PushCycleResult:
    """Register with the PSA as the settings ask, then read the records it announced.
    Never raises: push only speeds things up, polling does not depend on it."""
    result = PushCycleResult()
    with runner.db.session() as session:
        source = session.get(Source, source_id)
        if source is None or not source.schedulable:
            return result
        if not push_wanted(runner.settings) and session.get(PushChannel, source_id) is None:
            return result  # push was never set up: nothing to register, remove or read
        session.expunge(source)
    try:
        connector, stats = build_connector(
            source,
            runner.cipher,
            reporting_tz=runner.settings.tz,
            transport=runner.transports(source),
            db=runner.db,
        )
    except Exception:
        log.exception("push_cycle_failed", source_id=source_id)
        return result
    try:
        await ensure_push(
            runner.db, runner.cipher, source_id, connector, PushWish.of(runner.settings, connector)
        )
        pushable = pushes(connector)
        if pushable is not None:
            await _drain(runner, source_id, connector, pushable, result, stats)
            if result.stored:
                result.follow_up = unannounced_live_streams(connector, pushable)
    except Exception:
        log.exception("push_cycle_failed", source_id=source_id)
    finally:
        await connector.aclose()
    if result.runs:
        try:
            with runner.db.session() as session:
                refresh_after_sync(session, source_id, runner.settings.tz)
        except Exception:
            log.exception("kpi_refresh_failed", source_id=source_id)
    return result


def unannounced_live_streams(connector: Connector, pushable: Pushable) -> list[str]:
    return [
        name
        for name, spec in connector.streams.items()
        if spec.interval is SyncInterval.LIVE and name not in pushable.push_streams
    ]


def pending_notices(runner: SyncRunner, source_id: int) -> dict[str, list[PushNoticeRow]]:
    with runner.db.session() as session:
        rows = list(
            session.scalars(
                select(PushNoticeRow)
                .where(PushNoticeRow.source_id == source_id, PushNoticeRow.processed_at.is_(None))
                .order_by(PushNoticeRow.id)
                .limit(BATCH + 1)
            )
        )
        session.expunge_all()
    by_stream: dict[str, list[PushNoticeRow]] = defaultdict(list)
    for row in rows:
        by_stream[row.stream].append(row)
    return by_stream


async def _drain(
    runner: SyncRunner,
    source_id: int,
    connector: Connector,
    pushable: Pushable,
    result: PushCycleResult,
    stats: RequestStats,
) -> None:
    by_stream = pending_notices(runner, source_id)
    result.more_pending = sum(len(rows) for rows in by_stream.values()) > BATCH
    for stream, rows in by_stream.items():
        rows = rows[:BATCH]
        if stream not in pushable.push_streams or stream not in connector.streams:
            log.warning("push_stream_unknown", source_id=source_id, stream=stream)
            _finish(runner, rows, {row.record_id: NoticeOutcome.IGNORED for row in rows})
            result.ignored += len(rows)
            continue
        await _read_stream(runner, source_id, connector, pushable, stream, rows, result, stats)


async def _read_stream(
    runner: SyncRunner,
    source_id: int,
    connector: Connector,
    pushable: Pushable,
    stream: str,
    rows: list[PushNoticeRow],
    result: PushCycleResult,
    stats: RequestStats,
) -> None:
    spec = connector.streams[stream]
    requests_before = stats.requests
    ids = list(dict.fromkeys(row.record_id for row in rows))
    announced_deleted = {row.record_id for row in rows if row.action == PushAction.DELETED}
    with runner.db.session() as session:
        run = SyncRun(source_id=source_id, stream=stream, trigger=Trigger.PUSH, started_at=utcnow())
        session.add(run)
        session.flush()
        run_id = run.id
    outcome = StreamOutcome(stream=stream, status=RunStatus.RUNNING, run_id=run_id)
    result.runs += 1
    seen: set[str] = set()
    try:
        async for page in pushable.read_records(stream, ids):
            outcome.requests = stats.requests - requests_before
            outcome.pages += 1
            outcome.records += len(page.records)
            outcome.warn(*page.warnings)
            seen.update(str(i) for i in page.seen_ids)
            normalized = normalize_page(connector, spec, page.records)
            runner.pages.store(source_id, spec, page, normalized, outcome, True, move_cursor=False)
    except Exception as exc:
        outcome.status = RunStatus.FAILED
        if isinstance(exc, ConnectorError):
            outcome.error_code = exc.code
            outcome.error_message = secrets_registry.scrub(exc.message)
        else:
            log.exception("push_read_crashed", source_id=source_id, stream=stream)
            outcome.error_code = "internal_error"
            outcome.error_message = (
                f"Northstar hit an unexpected problem ({type(exc).__name__}) reading the "
                "records the PSA announced; it tries again shortly. See the service log."
            )
        outcome.requests = stats.requests - requests_before
        _retry_later(runner, rows)
        _close_run(runner, outcome)
        return
    missing = [record_id for record_id in ids if record_id not in seen]
    gone = [record_id for record_id in missing if record_id in announced_deleted]
    unreadable = [record_id for record_id in missing if record_id not in announced_deleted]
    if gone:
        fact_type = pushable.push_streams[stream]
        with runner.db.session() as session:
            deletions = [Deletion(fact_type, record_id) for record_id in gone]
            written = store_facts(session, source_id, deletions, runner.settings.tz)
            outcome.facts_deleted += written.deleted
    if unreadable:
        log.warning("push_record_unreadable", source_id=source_id, stream=stream, ids=unreadable)
        outcome.warn(UNREADABLE.format(count=len(unreadable)))
    outcomes = {record_id: NoticeOutcome.STORED for record_id in seen}
    outcomes |= {record_id: NoticeOutcome.DELETED for record_id in gone}
    outcomes |= {record_id: NoticeOutcome.IGNORED for record_id in unreadable}
    _finish(runner, rows, outcomes)
    outcome.requests = stats.requests - requests_before
    outcome.status = RunStatus.SUCCEEDED
    _close_run(runner, outcome)
    result.stored += len(seen)
    result.deleted += len(gone)
    result.ignored += len(unreadable)


def _finish(
    runner: SyncRunner, rows: list[PushNoticeRow], outcomes: Mapping[str, NoticeOutcome]
) -> None:
    now = utcnow()
    with runner.db.session() as session:
        for row in rows:
            session.execute(
                update(PushNoticeRow)
                .where(PushNoticeRow.id == row.id)
                .values(processed_at=now, outcome=outcomes.get(row.record_id, NoticeOutcome.STORED))
            )


def _retry_later(runner: SyncRunner, rows: list[PushNoticeRow]) -> None:
    now = utcnow()
    with runner.db.session() as session:
        for row in rows:
            expired = row.attempts + 1 >= MAX_ATTEMPTS
            session.execute(
                update(PushNoticeRow)
                .where(PushNoticeRow.id == row.id)
                .values(
                    attempts=row.attempts + 1,
                    processed_at=now if expired else None,
                    outcome=NoticeOutcome.EXPIRED if expired else None,
                )
            )


def _close_run(runner: SyncRunner, outcome: StreamOutcome) -> None:
    with runner.db.session() as session:
        run = session.get(SyncRun, outcome.run_id)
        if run is not None:
            close_run(run, outcome, utcnow())
