"""The scheduler: one job per active source, never two syncs of a source at once."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from db_targets import ON_POSTGRES
from fake_psa import FakeSetup, FakeWorld
from sqlalchemy import select

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.locks import source_sync_lock
from app.ingest.models import SyncRun
from app.sources.models import Source, SourceStatus


def scheduled_sources(context: ServiceContext) -> list[int]:
    assert context.scheduler is not None
    return sorted(
        int(job.id.rsplit("-", 1)[1])
        for job in context.scheduler._scheduler.get_jobs()
        if job.id.startswith("sync-source-")
    )


def test_reconcile_schedules_active_sources_only(fake: FakeSetup) -> None:
    scheduler = fake.context.make_scheduler()
    scheduler._scheduler.start(paused=True)
    try:
        scheduler.reconcile()
        assert scheduled_sources(fake.context) == [fake.source_id]

        with fake.context.db.session() as session:
            source = session.get(Source, fake.source_id)
            assert source is not None
            source.status = SourceStatus.NEEDS_ATTENTION
        scheduler.reconcile()
        assert scheduled_sources(fake.context) == []
    finally:
        scheduler.shutdown(wait=False)


def test_the_job_syncs_due_streams_and_records_runs(fake: FakeSetup) -> None:
    scheduler = fake.context.make_scheduler()

    scheduler.sync_source(fake.source_id)
    scheduler.sync_source(fake.source_id)  # nothing is due a second time

    with fake.context.db.session() as session:
        runs = session.scalars(select(SyncRun.stream).order_by(SyncRun.id)).all()
    assert runs == ["clients", "tickets", "ticket_sweep"]


def test_a_locked_source_is_skipped(fake: FakeSetup) -> None:
    scheduler = fake.context.make_scheduler()
    other_process = Database(fake.context.db.url)
    try:
        with source_sync_lock(other_process, fake.source_id) as held:
            assert held
            scheduler.sync_source(fake.source_id)
    finally:
        other_process.dispose()

    with fake.context.db.session() as session:
        assert session.scalars(select(SyncRun)).all() == []


def test_the_scheduler_starts_and_stops(fake: FakeSetup) -> None:
    scheduler = fake.context.make_scheduler()
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while scheduler.last_reconcile_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scheduler.running
        assert scheduler.state()["scheduled_sources"] == 1
    finally:
        scheduler.shutdown(wait=True)
    assert not scheduler.running


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="advisory locks are tested in the PostgreSQL pass")
def test_two_scheduler_instances_never_sync_the_same_source_at_once(
    fake: FakeSetup, fake_world: FakeWorld
) -> None:
    fake.api.read_delay = 0.05  # long enough for the two instances to collide
    instances = [
        ServiceContext.build(fake.context.settings, transports=fake_world.transport_for)
        for _ in range(2)
    ]
    schedulers = [context.make_scheduler() for context in instances]
    barrier = threading.Barrier(2)

    def run(index: int) -> None:
        for _ in range(4):
            barrier.wait()
            with instances[index].db.session() as session:
                # Ask again each round so every stream is due for both instances.
                source = session.get(Source, fake.source_id)
                assert source is not None
                from app.db import utcnow

                source.sync_requested_at = utcnow()
            schedulers[index].sync_source(fake.source_id)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert fake.api.max_active_reads == 1
    with fake.context.db.session() as session:
        runs = session.scalars(select(SyncRun).order_by(SyncRun.started_at)).all()
    assert runs, "some syncs ran"
    # Both instances asked every round; had the lock not held, each would have run all three
    # streams every round (24 runs).
    assert len(runs) < 24
    # No two runs of the source overlap in time.
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end is not None and end <= start
    for context in instances:
        context.db.dispose()
