""" "Sync now": every request answered by exactly one sync that starts after it, as `manual`.

Also what a scheduled sync leaves behind when it cannot start, and how soon it is retried.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fake_psa import FakeSetup, make_tickets
from leak_guard import CheckedClient
from sqlalchemy import select, update

from app.api.health import health
from app.db import utcnow
from app.ingest.models import RunStatus, SyncCursor, SyncRun
from app.ingest.run_book import WHOLE_SOURCE
from app.ingest.runner import Trigger
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.sources.models import Source

STREAMS = {"clients", "tickets", "ticket_sweep"}


@pytest.fixture
def live(fake: FakeSetup) -> Iterator[tuple[CheckedClient, dict[str, str]]]:
    """The API with its scheduler running, ticking every second."""
    fake.context.settings = fake.context.settings.model_copy(update={"scheduler_tick_seconds": 1})
    fake.api.records["tickets"] = make_tickets(12)
    with fake.context.db.session() as session:
        admin = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
    app = create_app(context=fake.context, run_scheduler=True)
    with CheckedClient(app) as client:
        wait_until(lambda: len(runs(fake)) >= len(STREAMS))  # the first scheduled sync
        wait_until(lambda: idle(fake))
        yield client, {"Authorization": f"Bearer {admin}"}


def runs(fake: FakeSetup) -> list[SyncRun]:
    with fake.context.db.session() as session:
        found = list(session.scalars(select(SyncRun).order_by(SyncRun.id)))
        session.expunge_all()
        return found


def idle(fake: FakeSetup) -> bool:
    scheduler = fake.context.scheduler
    with fake.context.db.session() as session:
        pending = session.scalar(
            select(Source.sync_requested_at).where(Source.id == fake.source_id)
        )
    return pending is None and scheduler is not None and not scheduler.syncs_in_progress


def wait_until(condition: object, timeout: float = 60.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_every_sync_now_request_is_answered_once_by_a_sync_that_starts_after_it(
    fake: FakeSetup, live: tuple[CheckedClient, dict[str, str]]
) -> None:
    client, admin = live
    rng = random.Random(14)
    requested: list[datetime] = []
    for _ in range(200):
        # Random moments: in the middle of a sync, between two, just as one ends.
        time.sleep(rng.uniform(0.0, 0.06))
        answer = client.post(f"/api/v1/sources/{fake.source_id}/sync", headers=admin)
        assert answer.status_code == 202, answer.text
        requested.append(datetime.fromisoformat(answer.json()["requested_at"]))
    wait_until(lambda: idle(fake))

    manual = [r for r in runs(fake) if r.trigger == Trigger.MANUAL]
    assert all(r.status == RunStatus.SUCCEEDED for r in manual)
    syncs: dict[datetime, list[SyncRun]] = defaultdict(list)
    for run in manual:
        assert run.requested_at is not None
        syncs[run.requested_at].append(run)
    # One sync per answered request, every stream once (those in a backoff included).
    for answered, its_runs in syncs.items():
        assert sorted(r.stream for r in its_runs) == sorted(STREAMS), answered
        assert answered in requested, "a sync answered a request nobody made"
    answered_in_order = sorted(syncs)
    for moment in requested:
        answering = next((a for a in answered_in_order if a >= moment), None)
        assert answering is not None, f"the request at {moment} was never answered"
        assert min(r.started_at for r in syncs[answering]) >= moment
    assert requested[-1] in syncs, "the last request has its own sync"
    # Nothing but the first sync ran on the schedule.
    assert {r.trigger for r in runs(fake)} == {Trigger.SCHEDULE, Trigger.MANUAL}
    assert len([r for r in runs(fake) if r.trigger == Trigger.SCHEDULE]) == len(STREAMS)


def test_a_requested_sync_runs_streams_in_a_failure_backoff(
    fake: FakeSetup, live: tuple[CheckedClient, dict[str, str]]
) -> None:
    client, admin = live
    later = utcnow() + timedelta(minutes=30)
    with fake.context.db.session() as session:
        session.execute(
            update(SyncCursor)
            .where(SyncCursor.source_id == fake.source_id)
            .values(next_attempt_at=later, consecutive_failures=3)
        )
    before = len(runs(fake))

    answer = client.post(f"/api/v1/sources/{fake.source_id}/sync", headers=admin)
    wait_until(lambda: idle(fake) and len(runs(fake)) == before + len(STREAMS))

    assert answer.json()["message"] == "The sync has started."
    new = runs(fake)[before:]
    assert {(r.stream, r.trigger, r.status) for r in new} == {
        (s, Trigger.MANUAL, RunStatus.SUCCEEDED) for s in STREAMS
    }
    with fake.context.db.session() as session:
        states = session.scalars(select(SyncCursor).where(SyncCursor.source_id == fake.source_id))
        assert all(s.next_attempt_at is None and s.consecutive_failures == 0 for s in states)


def test_a_request_made_during_a_sync_is_answered_by_the_next(fake: FakeSetup) -> None:
    """The runner clears only the request it answered."""
    scheduler = fake.context.make_scheduler()
    first = utcnow()
    with fake.context.db.session() as session:
        session.execute(
            update(Source).where(Source.id == fake.source_id).values(sync_requested_at=first)
        )
    second = first + timedelta(milliseconds=5)
    fake.api.read_delay = 0.0

    original = fake.context.runner.sync_source
    calls: list[datetime | None] = []

    async def sync_and_request_again(source_id: int, **kwargs: object) -> object:
        result = await original(source_id, **kwargs)  # type: ignore[arg-type]
        calls.append(result.answered_request)
        if len(calls) == 1:  # someone asks again while the first sync finishes
            with fake.context.db.session() as session:
                session.execute(
                    update(Source)
                    .where(Source.id == fake.source_id)
                    .values(sync_requested_at=second)
                )
        return result

    fake.context.runner.sync_source = sync_and_request_again  # type: ignore[method-assign]
    scheduler.sync_source(fake.source_id)

    assert calls == [first, second]
    answered = [r.requested_at for r in runs(fake)]
    assert answered == [first] * len(STREAMS) + [second] * len(STREAMS)
    assert idle(fake)


def test_a_sync_that_crashes_before_any_stream_leaves_a_failed_run(fake: FakeSetup) -> None:
    scheduler = fake.context.make_scheduler()

    async def crash(source_id: int, **_kwargs: object) -> object:
        raise RuntimeError("the database went away")

    fake.context.runner.sync_source = crash  # type: ignore[method-assign]
    scheduler.sync_source(fake.source_id)

    [run] = runs(fake)
    assert (run.stream, run.status, run.error_code) == (WHOLE_SOURCE, "failed", "internal_error")
    assert run.error_message is not None and "RuntimeError" in run.error_message
    assert "database went away" not in run.error_message  # the log has the details
    body = health(fake.context)
    [source] = json.loads(body.body)["sources"]
    assert source["latest_failure"].startswith(f"{WHOLE_SOURCE}: The sync stopped")


def test_a_stream_backoff_brings_the_next_run_forward(fake: FakeSetup) -> None:
    """A 1-minute backoff is retried after a minute, not at the next 5-minute interval."""
    scheduler = fake.context.make_scheduler()
    scheduler._scheduler.start(paused=True)
    try:
        scheduler.reconcile()
        job = scheduler._scheduler.get_job(f"sync-source-{fake.source_id}")
        job.modify(next_run_time=utcnow() + timedelta(minutes=5))  # as after a run
        fake.api.faults = [(500, {}, "busy")] * 20
        scheduler.sync_source(fake.source_id)
        job = scheduler._scheduler.get_job(f"sync-source-{fake.source_id}")
        with fake.context.db.session() as session:
            retry_at = min(
                s.next_attempt_at
                for s in session.scalars(select(SyncCursor)).all()
                if s.next_attempt_at is not None
            )
        assert retry_at - utcnow() < timedelta(minutes=2)
        assert abs((job.next_run_time - retry_at).total_seconds()) < 1
    finally:
        scheduler.shutdown(wait=False)
