"""Autotask's deletion logs on a first sync: a source that holds no time entries yet has
nothing a logged deletion could remove, so the logs are read only from shortly before the
sync began (one request each), and what is deleted afterwards is still caught."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from leak_guard import CheckedClient
from sqlalchemy import delete, func, select

from app.api.context import ServiceContext
from app.db import Database
from app.facts.models import TimeEntryRow
from app.ingest.models import SyncCursor
from app.ingest.runner import StreamOutcome, SyncResult
from app.ingest.sandbox import sandbox_base_url, sandbox_support, sandbox_world
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from connectors.autotask.simulator.render_logs import NOTES_EVERY
from connectors.sandbox.model import TimeKind

# A world of its own: the test deletes one of its time entries.
SEED, TICKETS = 73, 300
LOGS = ("deleted_tickets", "deleted_time_entries", "deleted_task_time_entries")


@pytest.fixture
def context(settings: Settings, db: Database) -> Iterator[ServiceContext]:
    context = ServiceContext.build(settings, db=db)
    with db.session() as session:
        key = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        support = sandbox_support("autotask")
        assert support is not None
        config = support.source_config(sandbox_base_url(SEED, TICKETS))
        created = client.post(
            "/api/v1/sources",
            headers={"X-API-Key": key},
            json={"name": "Autotask logs", "kind": "autotask", "config": config},
        )
        assert created.status_code == 201, created.text
        context.source_id = created.json()["id"]  # type: ignore[attr-defined]
        yield context


def sync(context: ServiceContext, streams: list[str] | None = None) -> dict[str, StreamOutcome]:
    source_id = context.source_id  # type: ignore[attr-defined]
    result: SyncResult = asyncio.run(
        context.runner.sync_source(source_id, trigger="cli", streams=streams)
    )
    assert [(o.stream, o.error_code) for o in result if o.error_code] == []
    return {o.stream: o for o in result}


def stored_entries(context: ServiceContext) -> set[str]:
    with context.db.session() as session:
        return set(session.scalars(select(TimeEntryRow.external_id)))


def test_a_first_sync_reads_each_deletion_log_once_from_just_before_it(
    context: ServiceContext,
) -> None:
    world = sandbox_world(SEED, TICKETS, None)  # the very world the sync's simulator serves

    first = sync(context)

    assert {name: first[name].requests for name in LOGS} == {name: 1 for name in LOGS}
    assert {name: first[name].records for name in LOGS} == {name: 0 for name in LOGS}
    live = {str(e.id) for e in world.time_entries if not e.deleted}
    assert stored_entries(context) == live


def test_a_deletion_after_the_first_sync_is_still_caught(context: ServiceContext) -> None:
    world = sandbox_world(SEED, TICKETS, None)
    sync(context)
    entry = next(
        e
        for e in world.time_entries
        if not e.deleted and e.kind is TimeKind.TICKET and e.ticket_id is not None
    )
    entry.deleted, entry.updated_at = True, datetime.now(UTC)
    try:
        later = sync(context, ["deleted_time_entries"])
        assert later["deleted_time_entries"].facts_deleted == 1
        assert str(entry.id) not in stored_entries(context)
    finally:
        entry.deleted = False  # the world is shared by this module's other tests


def test_a_log_first_read_into_a_source_holding_entries_reads_it_whole(
    context: ServiceContext,
) -> None:
    world = sandbox_world(SEED, TICKETS, None)
    sync(context)
    with context.db.session() as session:
        session.execute(delete(SyncCursor).where(SyncCursor.stream == "deleted_time_entries"))
        held = session.scalar(select(func.count()).select_from(TimeEntryRow))
    assert held

    again = sync(context, ["deleted_time_entries"])

    # Every log row is read (deleted time and deleted notes alike): the stored entries may
    # hold one a log removes.
    logged = [e for e in world.time_entries if e.deleted and e.kind is TimeKind.TICKET]
    notes = -(-len(world.tickets) // NOTES_EVERY)
    assert again["deleted_time_entries"].records == len(logged) + notes
