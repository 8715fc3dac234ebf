"""The sync runner with the fake connector: facts, idempotence, crash resume, failures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fake_psa import T0, FakeSetup, add_fake_source, make_tickets
from sqlalchemy import func, select

from app.api.context import ServiceContext
from app.db import Database
from app.facts.models import ClientRow, TicketRow
from app.ingest.history import first_whole_day
from app.ingest.models import RunStatus, SyncCursor, SyncRun
from app.ingest.runner import Trigger
from app.sources.models import Source, SourceStatus

pytestmark = pytest.mark.anyio


def ticket_facts(db: Database, source_id: int) -> list[tuple[Any, ...]]:
    with db.session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    TicketRow.external_id,
                    TicketRow.title,
                    TicketRow.client_external_id,
                    TicketRow.created_at,
                    TicketRow.is_closed,
                    TicketRow.updated_at,
                )
                .where(TicketRow.source_id == source_id)
                .order_by(TicketRow.external_id)
            )
        ]


async def sync(setup: FakeSetup, **kwargs: Any) -> dict[str, Any]:
    outcomes = await setup.context.runner.sync_source(
        setup.source_id, trigger=kwargs.pop("trigger", Trigger.CLI), **kwargs
    )
    return {o.stream: o for o in outcomes}


async def test_a_sync_writes_the_facts_and_records_runs(fake: FakeSetup) -> None:
    outcomes = await sync(fake)

    assert outcomes["tickets"].status is RunStatus.SUCCEEDED
    assert outcomes["tickets"].pages == 4  # 35 tickets, 10 a page
    assert outcomes["tickets"].records == 35
    assert outcomes["tickets"].facts_changed == 35
    assert outcomes["tickets"].requests == 4
    assert len(ticket_facts(fake.context.db, fake.source_id)) == 35
    with fake.context.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ClientRow)) == 5
        runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
        assert [(r.stream, r.status, r.pages, r.records) for r in runs] == [
            ("clients", "succeeded", 1, 5),
            ("tickets", "succeeded", 4, 35),
            # Right after the first complete read of every ticket, a sweep has nothing to find.
            ("ticket_sweep", "succeeded", 0, 0),
        ]
        assert all(r.finished_at is not None for r in runs)
        assert [r.requests for r in runs] == [1, 4, 0]
        assert runs[2].warnings and "Not needed" in runs[2].warnings[0]


async def test_a_second_run_changes_nothing(fake: FakeSetup) -> None:
    await sync(fake)
    before = ticket_facts(fake.context.db, fake.source_id)

    again = await sync(fake, full=True)

    assert again["tickets"].records == 35
    assert again["tickets"].facts_changed == 0
    assert again["clients"].facts_changed == 0
    assert again["ticket_sweep"].facts_deleted == 0
    assert ticket_facts(fake.context.db, fake.source_id) == before


async def test_an_incremental_run_reads_only_changed_records(fake: FakeSetup) -> None:
    await sync(fake)
    later = T0.replace(year=2030)
    fake.api.records["tickets"][3]["title"] = "Changed upstream"
    fake.api.records["tickets"][3]["updated"] = later.isoformat()

    outcomes = await sync(fake, streams=["tickets"])

    assert outcomes["tickets"].records == 1
    assert outcomes["tickets"].facts_changed == 1
    titles = {row[0]: row[1] for row in ticket_facts(fake.context.db, fake.source_id)}
    assert titles["4"] == "Changed upstream"


async def test_a_crash_after_page_k_resumes_to_exactly_the_uninterrupted_facts(
    fake: FakeSetup,
) -> None:
    reference_id = add_fake_source(fake.context, name="Uninterrupted")
    await fake.context.runner.sync_source(reference_id, trigger=Trigger.CLI, streams=["tickets"])
    crashing_id = add_fake_source(fake.context, name="Crashing", crash_after_pages=2)

    crashed = await fake.context.runner.sync_source(
        crashing_id, trigger=Trigger.CLI, streams=["tickets"]
    )
    assert crashed[0].status is RunStatus.FAILED
    assert crashed[0].error_code == "internal_error"
    assert len(ticket_facts(fake.context.db, crashing_id)) == 20  # two pages stored
    with fake.context.db.session() as session:
        cursor = session.get(SyncCursor, (crashing_id, "tickets"))
        assert cursor is not None and cursor.cursor is not None
        assert cursor.cursor["last_id"] == 20
        source = session.get(Source, crashing_id)
        assert source is not None
        source.config = {**source.config, "crash_after_pages": None}

    resumed = await fake.context.runner.sync_source(
        crashing_id, trigger=Trigger.CLI, streams=["tickets"]
    )

    assert resumed[0].status is RunStatus.SUCCEEDED
    assert resumed[0].records == 15  # only what the crash left unread
    assert ticket_facts(fake.context.db, crashing_id) == ticket_facts(fake.context.db, reference_id)


async def test_a_vendor_401_marks_the_source_needs_attention(fake: FakeSetup) -> None:
    fake.api.token = "rotated-by-the-msp"

    outcomes = await sync(fake)

    assert list(outcomes) == ["clients"]  # the other streams are not tried
    assert outcomes["clients"].error_code == "psa_auth_failed"
    assert "Invalid API token for this tenant." in (outcomes["clients"].error_message or "")
    with fake.context.db.session() as session:
        source = session.get(Source, fake.source_id)
        assert source is not None
        assert source.status == SourceStatus.NEEDS_ATTENTION
        assert source.status_code == "psa_auth_failed"
    # Not scheduled again until someone edits its settings.
    scheduled = await sync(fake, trigger=Trigger.SCHEDULE, only_due=True)
    assert scheduled == {}


async def test_a_429_with_retry_after_is_waited_out_and_the_sync_completes(
    fake: FakeSetup,
) -> None:
    fake.api.faults = [(429, {"Retry-After": "2"}, '{"message": "Too many requests"}')]
    loop_time = __import__("time").monotonic

    started = loop_time()
    outcomes = await sync(fake, streams=["clients"])

    assert loop_time() - started >= 2.0
    assert outcomes["clients"].status is RunStatus.SUCCEEDED
    assert outcomes["clients"].requests == 2
    assert outcomes["clients"].facts_changed == 5


async def test_a_transient_failure_backs_off_and_resumes_on_a_later_tick(
    fake: FakeSetup,
) -> None:
    fake.api.faults = [(503, {"Retry-After": "900"}, "maintenance")]  # longer than we wait

    failed = await sync(fake, streams=["clients"])

    assert failed["clients"].error_code == "psa_unavailable"
    with fake.context.db.session() as session:
        state = session.get(SyncCursor, (fake.source_id, "clients"))
        assert state is not None and state.consecutive_failures == 1
        assert state.next_attempt_at is not None and state.last_attempt_at is not None
        assert (state.next_attempt_at - state.last_attempt_at).total_seconds() >= 900
        source = session.get(Source, fake.source_id)
        assert source is not None and source.status == SourceStatus.ACTIVE
    # Within the backoff the scheduler leaves it alone; a person's explicit sync still runs.
    assert "clients" not in await sync(fake, trigger=Trigger.SCHEDULE, only_due=True)
    recovered = await sync(fake, streams=["clients"])
    assert recovered["clients"].status is RunStatus.SUCCEEDED


async def test_the_id_sweep_removes_tickets_that_disappeared(fake: FakeSetup) -> None:
    await sync(fake)
    fake.api.records["tickets"] = [t for t in fake.api.records["tickets"] if t["id"] not in (5, 6)]

    outcomes = await sync(fake, streams=["ticket_sweep"])

    assert outcomes["ticket_sweep"].facts_deleted == 2
    ids = {row[0] for row in ticket_facts(fake.context.db, fake.source_id)}
    assert "5" not in ids and "6" not in ids and len(ids) == 33


async def test_merged_records_become_deletions(fake: FakeSetup) -> None:
    await sync(fake)
    fake.api.records["tickets"][0].update(merged=True, updated=T0.replace(year=2031).isoformat())

    outcomes = await sync(fake, streams=["tickets"])

    assert outcomes["tickets"].facts_deleted == 1
    assert "1" not in {row[0] for row in ticket_facts(fake.context.db, fake.source_id)}


async def test_new_records_between_syncs_are_added(fake: FakeSetup) -> None:
    await sync(fake)
    fake.api.records["tickets"] += make_tickets(3, start_id=36, updated=T0.replace(year=2030))

    outcomes = await sync(fake, streams=["tickets"])

    assert outcomes["tickets"].facts_changed == 3
    assert len(ticket_facts(fake.context.db, fake.source_id)) == 38


async def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(
    fake: FakeSetup,
) -> None:
    with fake.context.db.session() as session:
        session.add(SyncRun(source_id=fake.source_id, stream="tickets", trigger="schedule"))

    await sync(fake, streams=["clients"])

    with fake.context.db.session() as session:
        statuses = session.scalars(select(SyncRun.status).order_by(SyncRun.id)).all()
    assert statuses == ["interrupted", "succeeded"]


def test_due_streams_follow_intervals(fake: FakeSetup) -> None:
    context: ServiceContext = fake.context
    import asyncio

    asyncio.run(context.runner.sync_source(fake.source_id, trigger=Trigger.CLI))
    with context.db.session() as session:
        source = session.get(Source, fake.source_id)
        assert source is not None
        session.expunge(source)
    specs = list(__import__("fake_psa").FakeConnector.streams.values())
    from datetime import timedelta

    from app.db import utcnow

    now = utcnow()
    assert context.runner.due_streams(source, specs, now) == []
    assert context.runner.due_streams(source, specs, now + timedelta(minutes=6)) == ["tickets"]
    assert context.runner.due_streams(source, specs, now + timedelta(minutes=61)) == [
        "clients",
        "tickets",
        "ticket_sweep",
    ]


def test_a_stream_is_due_one_interval_after_its_sync_began(fake: FakeSetup) -> None:
    """However long the streams take, a success is dated when the sync began: the job that
    fires one interval later finds the stream due (dated when it finished, a stream taking
    longer than the few seconds of slack was skipped at that fire and waited a whole
    interval more)."""
    import asyncio

    from app.db import utcnow

    context: ServiceContext = fake.context
    fake.api.read_delay = 0.05
    began = utcnow()
    asyncio.run(context.runner.sync_source(fake.source_id, trigger=Trigger.SCHEDULE))
    with context.db.session() as session:
        source = session.get(Source, fake.source_id)
        assert source is not None
        session.expunge(source)
        runs = list(session.scalars(select(SyncRun).where(SyncRun.source_id == fake.source_id)))
        cursors = list(
            session.scalars(select(SyncCursor).where(SyncCursor.source_id == fake.source_id))
        )
    first_start = min(run.started_at for run in runs)
    last_finish = max(run.finished_at for run in runs if run.finished_at is not None)
    assert last_finish > first_start
    successes = {cursor.last_success_at for cursor in cursors}
    assert len(successes) == 1  # every stream of the sync: the same moment
    success = successes.pop()
    assert success is not None and began <= success <= first_start
    specs = list(__import__("fake_psa").FakeConnector.streams.values())
    next_fire = began + timedelta(minutes=5)
    assert context.runner.due_streams(source, specs, next_fire) == ["tickets"]


# ---- data coverage: which days of the PSA's history are held in full ------------------------


def coverage_state(setup: FakeSetup, source_id: int | None = None) -> tuple[Any, ...]:
    """(history_from, {stream: (history_read, history_since)}) of a source."""
    source_id = source_id or setup.source_id
    with setup.context.db.session() as session:
        source = session.get(Source, source_id)
        assert source is not None
        cursors = session.scalars(select(SyncCursor).where(SyncCursor.source_id == source_id))
        return source.history_from, {c.stream: (c.history_read, c.history_since) for c in cursors}


def in_zone(setup: FakeSetup, zone: str) -> None:
    context = setup.context
    context.settings = context.settings.model_copy(update={"reporting_timezone": zone})
    context.runner.settings = context.settings


async def test_a_whole_first_sync_holds_history_from_the_earliest_fact(fake: FakeSetup) -> None:
    # The earliest ticket is created at 09:00 UTC on 31 January: 30 January in Honolulu.
    in_zone(fake, "Pacific/Honolulu")
    assert coverage_state(fake) == (None, {})

    await sync(fake)

    whole = (True, None)
    assert coverage_state(fake) == (
        date(2025, 1, 30),
        {"clients": whole, "tickets": whole, "ticket_sweep": whole},
    )


async def test_a_backfill_holds_history_from_its_first_day(fake: FakeSetup) -> None:
    in_zone(fake, "America/New_York")
    since = datetime(2025, 2, 10, tzinfo=ZoneInfo("America/New_York"))  # local midnight

    await sync(fake, trigger=Trigger.BACKFILL, full=True, since=since)

    history_from, streams = coverage_state(fake)
    assert history_from == date(2025, 2, 10)
    assert streams["tickets"] == (True, date(2025, 2, 10))
    # The date bounds dated facts only: clients are read whole (none is lost for being old).
    assert streams["clients"] == (True, None)


def test_a_read_from_mid_day_holds_history_from_the_next_day() -> None:
    new_york = ZoneInfo("America/New_York")
    midnight = datetime(2025, 2, 10, tzinfo=new_york)

    assert first_whole_day(midnight, new_york) == date(2025, 2, 10)
    assert first_whole_day(midnight.astimezone(UTC), new_york) == date(2025, 2, 10)
    assert first_whole_day(midnight + timedelta(seconds=1), new_york) == date(2025, 2, 11)
    # Midnight UTC is still the evening before in New York: that day is not held whole.
    assert first_whole_day(datetime(2025, 2, 10, tzinfo=UTC), new_york) == date(2025, 2, 10)
    assert first_whole_day(datetime(2025, 2, 10, tzinfo=UTC), ZoneInfo("Europe/Berlin")) == (
        date(2025, 2, 11)
    )


async def test_an_incremental_sync_does_not_move_history_from(fake: FakeSetup) -> None:
    await sync(fake)
    before = coverage_state(fake)
    # New tickets, read by an incremental pass of the tickets stream from its cursor.
    fake.api.records["tickets"] += make_tickets(2, start_id=36, updated=T0.replace(year=2030))

    outcomes = await sync(fake, streams=["tickets", "clients"])

    assert outcomes["tickets"].facts_changed == 2
    assert coverage_state(fake) == before


async def test_a_later_backfill_does_not_narrow_what_is_held(fake: FakeSetup) -> None:
    since = datetime(2025, 2, 10, tzinfo=UTC)
    await sync(fake, trigger=Trigger.BACKFILL, full=True, since=since)
    assert coverage_state(fake)[0] == date(2025, 2, 10)

    await sync(fake, trigger=Trigger.BACKFILL, full=True, since=since + timedelta(days=7))
    assert coverage_state(fake)[0] == date(2025, 2, 10)  # the earlier days are still held

    await sync(fake, full=True)  # a whole re-read: held from the earliest fact
    assert coverage_state(fake)[0] == date(2025, 1, 31)


async def test_a_first_sync_interrupted_and_resumed_still_counts_as_read(
    fake: FakeSetup,
) -> None:
    crashing_id = add_fake_source(fake.context, name="Crashing", crash_after_pages=2)
    since = datetime(2025, 2, 20, tzinfo=UTC)

    crashed = await fake.context.runner.sync_source(
        crashing_id, trigger=Trigger.BACKFILL, full=True, since=since
    )
    assert {o.stream: o.status for o in crashed}["tickets"] is RunStatus.FAILED
    history_from, streams = coverage_state(fake, crashing_id)
    assert history_from is None
    assert streams["tickets"] == (False, date(2025, 2, 20))  # the day it read from, kept
    with fake.context.db.session() as session:
        source = session.get(Source, crashing_id)
        assert source is not None
        source.config = {**source.config, "crash_after_pages": None}

    # The scheduler resumes the read from its cursor, with no `since` of its own.
    await fake.context.runner.sync_source(crashing_id, trigger=Trigger.SCHEDULE)

    history_from, streams = coverage_state(fake, crashing_id)
    assert streams["tickets"] == (True, date(2025, 2, 20))
    assert history_from == date(2025, 2, 20)


async def test_a_source_missing_a_stream_has_no_history_from(fake: FakeSetup) -> None:
    await sync(fake, streams=["clients", "tickets"])

    history_from, streams = coverage_state(fake)
    assert history_from is None
    assert set(streams) == {"clients", "tickets"}


async def test_an_upgraded_database_works_out_history_from_on_the_next_tick(
    fake: FakeSetup,
) -> None:
    await sync(fake)
    with fake.context.db.session() as session:  # as migration 0007 leaves it
        source = session.get(Source, fake.source_id)
        assert source is not None
        source.history_from = None

    nothing_due = await sync(fake, trigger=Trigger.SCHEDULE, only_due=True)

    assert nothing_due == {}
    assert coverage_state(fake)[0] == date(2025, 1, 31)
