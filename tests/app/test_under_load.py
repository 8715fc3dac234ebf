"""Under load (issue 15, defects 17 and 18), on a real server on loopback.

17: requests beyond the concurrency limit wait their turn (they never fail for want of a
database connection); past the line's length they get a clean 503 with `Retry-After`, never
a timeout or a 500. 18: a read request never writes; when a key was last used is written
off the request path, at most once a minute.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from live_server import serve_on_loopback
from sqlalchemy import event, select

from app.api.concurrency import BUSY_CODE, Turns, install
from app.api.context import ServiceContext, api_connections
from app.db import Database
from app.goals.examples import seed_example_plan, shift_months
from app.kpis.periods import previous_quarter
from app.main import create_app
from app.security.apikeys import KeyUseRecorder, create_api_key
from app.security.models import ApiKey, KeyScope
from app.settings import Settings

READ_ROUTES = (
    "/api/v1/alignment",
    "/api/v1/kpis/open_backlog/values?grain=month",
    "/api/v1/kpis",
    "/api/v1/goals",
    "/odata/Tickets?$top=5",
    "/api/v1/health",
    f"/api/v1/reviews/{previous_quarter(datetime.now(UTC).date())}",
    "/metrics",
    "/api/v1/sources",
    "/api/v1/objectives?format=csv",
    "/odata/KpiMonthly",
)


@dataclass
class Served:
    base: str
    app: FastAPI
    context: ServiceContext
    read_key: str
    read_key_id: int
    gate_entered: threading.Event
    gate_open: threading.Event


def _serve(settings: Settings, **limits: Any) -> Iterator[Served]:
    limited = settings.model_copy(update=limits)
    # The API's own pool, sized from the limit as the service sizes it.
    api_db = Database(limited.database_url, connections=api_connections(limited))
    context = ServiceContext.build(limited, db=api_db)
    today = datetime.now(UTC).date()
    with api_db.session() as session:
        seed_example_plan(session, start=shift_months(today.replace(day=1), -5), today=today)
        read = create_api_key(session, name="reader", scope=KeyScope.READ)
    app = create_app(context=context, run_scheduler=False)
    install(app, limited)  # a no-op once create_app installs it
    entered, opened = threading.Event(), threading.Event()

    async def gate() -> dict[str, str]:
        # Holds its turn until the test opens the gate.
        entered.set()
        await anyio.to_thread.run_sync(opened.wait, 60)
        return {"gate": "passed"}

    app.add_api_route("/__test/gate", gate)
    try:
        with serve_on_loopback(app) as base:
            yield Served(base, app, context, read.key, read.id, entered, opened)
    finally:
        opened.set()
        context.stop()
        api_db.dispose()


@pytest.fixture
def three_at_a_time(settings: Settings) -> Iterator[Served]:
    yield from _serve(
        settings, max_concurrent_requests=3, max_queued_requests=1000, queue_timeout_seconds=120
    )


@pytest.fixture
def one_at_a_time_line_of_five(settings: Settings) -> Iterator[Served]:
    yield from _serve(
        settings, max_concurrent_requests=1, max_queued_requests=5, queue_timeout_seconds=120
    )


def _client(base: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base, timeout=120, limits=limits)


def _statements(db: Database) -> list[str]:
    """Every SQL statement `db` runs from now on."""
    seen: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.strip().split(None, 1)[0].upper())

    return seen


WRITES = {"INSERT", "UPDATE", "DELETE", "REPLACE"}


@pytest.mark.anyio
async def test_requests_beyond_the_limit_wait_their_turn_and_all_succeed(
    three_at_a_time: Served,
) -> None:
    served = three_at_a_time
    headers = {"Authorization": f"Bearer {served.read_key}"}
    async with _client(served.base, 150) as http:
        answers = await asyncio.gather(
            *(http.get(READ_ROUTES[i % len(READ_ROUTES)], headers=headers) for i in range(120))
        )
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: 120}, [a.text[:200] for a in answers if a.status_code != 200][:3]
    # Every connection went back to the pool.
    pool: Any = served.context.db.engine.pool
    assert pool.checkedout() == 0


@pytest.mark.anyio
async def test_past_a_full_line_requests_get_a_clean_503_with_retry_after(
    one_at_a_time_line_of_five: Served,
) -> None:
    served = one_at_a_time_line_of_five
    headers = {"X-API-Key": served.read_key}
    async with _client(served.base, 150) as http:
        holder = asyncio.create_task(http.get("/__test/gate"))
        await anyio.to_thread.run_sync(served.gate_entered.wait, 30)
        # The one turn is taken: 5 of these wait in line, the other 115 are refused at once.
        pending = [
            asyncio.create_task(http.get(READ_ROUTES[i % len(READ_ROUTES)], headers=headers))
            for i in range(120)
        ]
        with anyio.fail_after(60):
            while sum(task.done() for task in pending) < 115:  # noqa: ASYNC110 - tasks of httpx
                await asyncio.sleep(0.02)
        served.gate_open.set()
        answers = await asyncio.gather(*pending)
        assert (await holder).status_code == 200
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {503: 115, 200: 5}
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["retry-after"].isdigit()
            assert int(answer.headers["retry-after"]) >= 1
            body = answer.json()
            assert body["code"] == BUSY_CODE
            assert "send the request again" in body["message"]


@pytest.mark.anyio
async def test_a_read_request_never_writes_and_a_key_is_stamped_once_a_minute(
    three_at_a_time: Served,
) -> None:
    served = three_at_a_time
    db = served.context.db
    statements = _statements(db)
    cookie = {"Cookie": f"northstar_key={served.read_key}"}
    ways = ({"Authorization": f"Bearer {served.read_key}"}, {"X-API-Key": served.read_key})
    async with _client(served.base, 50) as http:
        answers = await asyncio.gather(
            *(http.get(route, headers=way) for route in READ_ROUTES for way in ways),
            http.get("/api/v1/alignment", headers=cookie),  # the scorecard page's links
            http.get("/", headers=cookie),
            http.get(f"/odata/Tickets?$top=5&api_key={served.read_key}"),
        )
    assert {answer.status_code for answer in answers} == {200}, [
        (str(a.url), a.text[:100]) for a in answers if a.status_code != 200
    ]
    assert [s for s in statements if s in WRITES] == []
    # The use was noted in memory, and is written by the recorder, in one statement.
    assert served.context.key_uses.pending == 1
    assert served.context.key_uses.flush() == 1
    assert [s for s in statements if s in WRITES] == ["UPDATE"]
    stamped = _last_used(db, served.read_key_id)
    assert stamped is not None

    # Within the minute: more requests note nothing, and nothing more is written.
    async with _client(served.base, 10) as http:
        again = await asyncio.gather(
            *(http.get(route, headers={"X-API-Key": served.read_key}) for route in READ_ROUTES)
        )
    assert {answer.status_code for answer in again} == {200}
    assert served.context.key_uses.pending == 0
    assert served.context.key_uses.flush() == 0
    assert [s for s in statements if s in WRITES] == ["UPDATE"]
    # Another API process that read the key before the stamp: its write changes nothing.
    elsewhere = KeyUseRecorder(db)
    elsewhere.note(served.read_key_id, stamped - timedelta(minutes=5))
    elsewhere.flush()
    assert _last_used(db, served.read_key_id) == stamped


def _last_used(db: Database, key_id: int) -> datetime | None:
    with db.session() as session:
        return session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))


def test_a_key_used_again_after_a_minute_is_stamped_again(db: Database) -> None:
    with db.session() as session:
        key = create_api_key(session, name="k", scope=KeyScope.READ)
    recorder = KeyUseRecorder(db, flush_delay_s=3600)
    recorder.note(key.id, None)
    recorder.note(key.id, None)  # already pending
    assert recorder.flush() == 1
    first = _last_used(db, key.id)
    assert first is not None
    with db.session() as session:
        row = session.get(ApiKey, key.id)
        assert row is not None
        row.last_used_at = first - timedelta(minutes=2)  # as if a minute had passed
    fresh = KeyUseRecorder(db, flush_delay_s=3600)
    fresh.note(key.id, first - timedelta(minutes=2))
    assert fresh.stop() == 1
    later = _last_used(db, key.id)
    assert later is not None and later >= first


@pytest.mark.anyio
async def test_turns_are_handed_over_in_order_and_a_full_line_is_refused() -> None:
    turns = Turns(limit=1, queue=2)
    order: list[str] = []
    assert await turns.acquire(60)

    async def wait_in_line(name: str) -> None:
        assert await turns.acquire(60)
        order.append(name)
        turns.release()

    async with anyio.create_task_group() as group:
        group.start_soon(wait_in_line, "first")
        await anyio.wait_all_tasks_blocked()
        group.start_soon(wait_in_line, "second")
        await anyio.wait_all_tasks_blocked()
        assert turns.waiting == 2
        assert not await turns.acquire(60)  # the line is full: refused without waiting
        turns.release()
    assert order == ["first", "second"]
    assert turns.active == 0 and turns.waiting == 0


@pytest.mark.anyio
async def test_a_request_that_leaves_the_line_gives_its_place_back() -> None:
    turns = Turns(limit=1, queue=5)
    assert await turns.acquire(60)
    async with anyio.create_task_group() as group:
        group.start_soon(turns.acquire, 60)
        await anyio.wait_all_tasks_blocked()
        assert turns.waiting == 1
        group.cancel_scope.cancel()  # the client went away
    assert turns.waiting == 0
    assert not await turns.acquire(0)  # the wait runs out at once: still refused
    turns.release()
    assert turns.active == 0
