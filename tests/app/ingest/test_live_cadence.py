"""Three cadences: tickets and time entries every minute (live), other changing data every
5 minutes (fast), slow data and sweeps hourly; the scheduler ticks at the live cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from source_checks import check_source
from sqlalchemy import select

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.models import SyncCursor, SyncRun
from app.ingest.sandbox import sandbox_base_url, sandbox_support
from app.ingest.scheduler import SyncScheduler
from app.ingest.selection import due_streams, interval_slack, job_interval_seconds
from app.settings import Settings
from app.sources.models import Source, SourceStatus
from app.sources.service import create_source
from connectors.autotask.streams import STREAMS as AUTOTASK_STREAMS
from connectors.connectwise.streams import STREAMS as CONNECTWISE_STREAMS
from connectors.sdk import StreamSpec, SyncInterval

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
CW_SPECS = list(CONNECTWISE_STREAMS.values())
CW_FAST = ["survey_results"]
CW_SLOW = [s.name for s in CW_SPECS if s.interval is SyncInterval.SLOW]


def a_source(live_seconds: int = 60) -> Source:
    return Source(
        id=1,
        name="Ours",
        kind="connectwise",
        live_interval_seconds=live_seconds,
        fast_interval_minutes=5,
        slow_interval_minutes=60,
    )


def checked_at(moment: datetime, specs: list[StreamSpec]) -> dict[str, SyncCursor]:
    return {s.name: SyncCursor(source_id=1, stream=s.name, last_success_at=moment) for s in specs}


def due_after(elapsed: timedelta, live_seconds: int = 60) -> list[str]:
    cursors = checked_at(NOW, CW_SPECS)
    return due_streams(a_source(live_seconds), CW_SPECS, cursors, NOW + elapsed, requested=False)


def test_tickets_and_time_entries_are_the_live_streams_of_both_vendors() -> None:
    def live(streams: dict[str, StreamSpec]) -> list[str]:
        return [s.name for s in streams.values() if s.interval is SyncInterval.LIVE]

    assert live(CONNECTWISE_STREAMS) == ["tickets", "time_entries"]
    assert live(dict(AUTOTASK_STREAMS)) == ["tickets", "time_entries"]


def test_a_minute_after_a_check_only_the_live_streams_are_due() -> None:
    assert due_after(timedelta(seconds=61)) == ["tickets", "time_entries"]


def test_five_minutes_after_a_check_the_fast_streams_are_due_too() -> None:
    assert due_after(timedelta(minutes=5, seconds=1)) == ["tickets", "time_entries", *CW_FAST]


def test_an_hour_after_a_check_every_stream_is_due() -> None:
    assert due_after(timedelta(minutes=60, seconds=1)) == [s.name for s in CW_SPECS]
    assert set(CW_SLOW) <= set(due_after(timedelta(minutes=60)))


def test_nothing_is_due_well_within_the_live_interval() -> None:
    assert due_after(timedelta(seconds=50)) == []


def test_the_slack_is_a_tenth_of_a_short_interval() -> None:
    assert interval_slack(timedelta(seconds=15)) == timedelta(seconds=1.5)
    assert interval_slack(timedelta(seconds=60)) == timedelta(seconds=5)
    assert interval_slack(timedelta(hours=1)) == timedelta(seconds=5)
    assert due_after(timedelta(seconds=13), live_seconds=15) == []
    assert due_after(timedelta(seconds=13.6), live_seconds=15) == ["tickets", "time_entries"]


def test_the_job_ticks_at_the_shortest_interval_of_the_streams() -> None:
    assert job_interval_seconds(a_source(live_seconds=20), CW_SPECS) == 20
    without_live = [s for s in CW_SPECS if s.interval is not SyncInterval.LIVE]
    assert job_interval_seconds(a_source(), without_live) == 300


# ---- the scheduler on the built-in simulators --------------------------------------------


def sandbox_source(context: ServiceContext, kind: str) -> int:
    support = sandbox_support(kind)
    assert support is not None
    with context.db.session() as session:
        source_id = create_source(
            session,
            context.cipher,
            name=f"{kind} sandbox",
            kind=kind,
            config=support.source_config(sandbox_base_url(11, 60)),
            fast_interval_minutes=5,
            slow_interval_minutes=60,
            live_interval_seconds=60,
        ).id
    assert check_source(context, source_id).ok
    return source_id


def the_clock_moves(db: Database, source_id: int, elapsed: timedelta) -> None:
    """Every check of the source dated `elapsed` earlier: as if that much time had passed."""
    with db.session() as session:
        for state in session.scalars(select(SyncCursor).where(SyncCursor.source_id == source_id)):
            if state.last_success_at is not None:
                state.last_success_at -= elapsed


def runs_of_next_tick(scheduler: SyncScheduler, db: Database, source_id: int) -> list[str]:
    with db.session() as session:
        before = session.scalar(select(SyncRun.id).order_by(SyncRun.id.desc()).limit(1)) or 0
    scheduler.sync_source(source_id)
    with db.session() as session:
        return list(
            session.scalars(select(SyncRun.stream).where(SyncRun.id > before).order_by(SyncRun.id))
        )


@pytest.mark.parametrize("kind", ["connectwise", "autotask"])
def test_on_the_simulator_live_streams_run_every_minute_and_the_others_do_not(
    settings: Settings, db: Database, kind: str
) -> None:
    context = ServiceContext.build(settings, db=db)
    source_id = sandbox_source(context, kind)
    scheduler = context.make_scheduler()
    scheduler._scheduler.start(paused=True)
    try:
        scheduler.reconcile()
        job = scheduler._scheduler.get_job(f"sync-source-{source_id}")
        assert job is not None and job.trigger.interval == timedelta(seconds=60)
        # A tick that comes while the previous sync runs is dropped: never two at once.
        assert (job.max_instances, job.coalesce) == (1, True)
        first = runs_of_next_tick(scheduler, db, source_id)

        ticks = []
        for _ in range(4):  # four minutes: live streams only, each minute
            the_clock_moves(db, source_id, timedelta(seconds=61))
            ticks.append(runs_of_next_tick(scheduler, db, source_id))
        the_clock_moves(db, source_id, timedelta(seconds=61))  # five minutes and more
        fifth = runs_of_next_tick(scheduler, db, source_id)
    finally:
        scheduler.shutdown(wait=False)

    assert ticks == [["tickets", "time_entries"]] * 4
    specs = (CONNECTWISE_STREAMS if kind == "connectwise" else AUTOTASK_STREAMS).values()
    assert first == [s.name for s in specs]
    # Once the source holds facts, its live streams run first (in_run_order).
    due = [s for s in specs if s.interval is not SyncInterval.SLOW]
    live = [s.name for s in due if s.interval is SyncInterval.LIVE]
    assert fifth == live + [s.name for s in due if s.name not in live]
    with db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None and source.status == SourceStatus.ACTIVE
        failed = session.scalars(select(SyncRun.stream).where(SyncRun.status == "failed"))
        assert list(failed) == []
