"""Issue 20: a rolling id sweep lists one slice of the ids a run, every id once a period.

Through the real runner and the built-in simulators (worlds of their own: the tests delete
and add records in them): a record deleted in slice k leaves with the run that lists slice
k and not before; the period's runs list every slice once; a record created above the ids
the rotation was planned from is in the last, open slice; a sweep killed half way leaves no
seen ids behind and its slice is listed again; `--full` lists everything; and a slice costs
about its share of a whole listing's requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from source_checks import check_source
from sqlalchemy import func, select

from app.api.context import ServiceContext
from app.db import Database
from app.facts.models import TicketRow, TimeEntryRow
from app.ingest.models import RunStatus, SweepSeenId, SyncCursor, SyncRun
from app.ingest.runner import StreamOutcome, StreamProgress, Trigger
from app.ingest.sandbox import sandbox_base_url, sandbox_support, sandbox_transport, sandbox_world
from app.settings import Settings
from app.sources.service import create_source
from connectors.sandbox.model import SandboxWorld

# Worlds of their own (seed, tickets): a world has three time entries per ticket.
AUTOTASK_WORLD = (83, 1000)  # 3,000 time entries: 4 slices of 750 (two 500-record pages)
CONNECTWISE_WORLD = (84, 3500)  # over 3,000 tickets stored: 3 slices of 1,000 or more
AUTOTASK_SWEEP, CONNECTWISE_SWEEP = "time_entry_ids", "tickets_sweep"
PART = re.compile(r"Listed ids .* \(part (\d+) of (\d+)\)")


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no `except Exception` catches it."""


def context_for(settings: Settings, db: Database, period_hours: float) -> ServiceContext:
    return ServiceContext.build(
        settings.model_copy(update={"sweep_period_hours": period_hours}), db=db
    )


def add_source(context: ServiceContext, kind: str, world: tuple[int, int]) -> int:
    support = sandbox_support(kind)
    assert support is not None
    config = support.source_config(sandbox_base_url(*world))
    with context.db.session() as session:
        source = create_source(
            session,
            context.cipher,
            name=f"{kind} rolling sweep",
            kind=kind,
            config=config,
            fast_interval_minutes=5,
            slow_interval_minutes=60,
        )
        session.flush()
        source_id = source.id
    check_source(context, source_id, transports=sandbox_transport)
    return source_id


def sync(
    context: ServiceContext, source_id: int, streams: list[str] | None = None, **kwargs: Any
) -> dict[str, StreamOutcome]:
    result = asyncio.run(
        context.runner.sync_source(source_id, trigger=Trigger.CLI, streams=streams, **kwargs)
    )
    assert [(o.stream, o.error_code) for o in result if o.error_code] == []
    return {o.stream: o for o in result}


def part_of(outcome: StreamOutcome) -> tuple[int, int] | None:
    """(part, parts) the run's record says it listed; None: it listed every id."""
    for warning in outcome.warnings:
        found = PART.match(warning)
        if found:
            return int(found.group(1)), int(found.group(2))
    return None


def bounds(db: Database, source_id: int, stream: str) -> list[int]:
    with db.session() as session:
        state = session.get(SyncCursor, (source_id, stream))
        assert state is not None and state.cursor is not None
        return list(state.cursor["rolling_sweep"]["bounds"])


def stored(db: Database, row: Any) -> set[int]:
    with db.session() as session:
        return {int(e) for e in session.scalars(select(row.external_id))}


def in_part(ids: set[int], edges: list[int], part: int) -> int:
    """The lowest of `ids` in slice `part` (from 1) of the rotation with these bounds."""
    low = edges[part - 2] if part > 1 else 0
    high = edges[part - 1] if part <= len(edges) else None
    return min(i for i in ids if i >= low and (high is None or i < high))


@pytest.fixture
def autotask(settings: Settings, db: Database) -> Iterator[tuple[ServiceContext, int]]:
    """An Autotask source with every time entry stored, its sweep due to slice in 4 (a
    4-hour period at the hourly cadence)."""
    context = context_for(settings, db, period_hours=4)
    source_id = add_source(context, "autotask", AUTOTASK_WORLD)
    # The first read: the sweep right after it has nothing to find (skipped, not sliced).
    first = sync(context, source_id, ["time_entries", AUTOTASK_SWEEP])
    assert part_of(first[AUTOTASK_SWEEP]) is None
    yield context, source_id


@pytest.fixture
def autotask_world() -> Iterator[SandboxWorld]:
    world = sandbox_world(*AUTOTASK_WORLD, None)  # the very world the syncs' simulators serve
    entries = list(world.time_entries)
    deleted = {e.id for e in entries if e.deleted}
    yield world
    world.time_entries[:] = entries  # shared with this module's other tests: put back
    for entry in entries:
        entry.deleted = entry.id in deleted


def test_a_deleted_time_entry_leaves_with_the_run_listing_its_slice_and_not_before(
    autotask: tuple[ServiceContext, int], autotask_world: SandboxWorld
) -> None:
    context, source_id = autotask
    live = {e.id for e in autotask_world.time_entries if not e.deleted}
    assert stored(context.db, TimeEntryRow) == live

    runs = [sync(context, source_id, [AUTOTASK_SWEEP])[AUTOTASK_SWEEP]]
    edges = bounds(context.db, source_id, AUTOTASK_SWEEP)
    gone = in_part(live, edges, 3)
    next(e for e in autotask_world.time_entries if e.id == gone).deleted = True
    present_after = []
    for _ in range(3):
        runs.append(sync(context, source_id, [AUTOTASK_SWEEP])[AUTOTASK_SWEEP])
        present_after.append(gone in stored(context.db, TimeEntryRow))

    assert [part_of(run) for run in runs] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert present_after == [True, False, False]  # after parts 2, 3 and 4
    assert [run.facts_deleted for run in runs] == [0, 0, 1, 0]
    # Every id was listed exactly once in the period: the slices' listings add up to the
    # live entries (the deleted one was no longer listed).
    assert sum(run.records for run in runs) == len(live) - 1
    assert stored(context.db, TimeEntryRow) == live - {gone}
    # Part 3's record says which ids it listed, in plain words.
    assert f"Listed ids {edges[1]:,} to {edges[2] - 1:,} (part 3 of 4)" in runs[2].warnings[0]
    # The period over, the next run starts a new rotation.
    assert part_of(sync(context, source_id, [AUTOTASK_SWEEP])[AUTOTASK_SWEEP]) == (1, 4)


def test_a_record_created_above_the_planned_ids_is_in_the_last_open_slice(
    autotask: tuple[ServiceContext, int], autotask_world: SandboxWorld
) -> None:
    context, source_id = autotask
    sync(context, source_id, [AUTOTASK_SWEEP])  # part 1: the rotation is planned
    highest = max(e.id for e in autotask_world.time_entries)
    template = next(e for e in autotask_world.time_entries if not e.deleted)
    created = dataclasses.replace(template, id=highest + 1, updated_at=datetime.now(UTC))
    autotask_world.time_entries.append(created)
    sync(context, source_id, ["time_entries"])
    assert created.id in stored(context.db, TimeEntryRow)
    assert created.id > bounds(context.db, source_id, AUTOTASK_SWEEP)[-1]
    created.deleted = True

    parts = []
    for _ in range(3):
        run = sync(context, source_id, [AUTOTASK_SWEEP])[AUTOTASK_SWEEP]
        parts.append((part_of(run), run.facts_deleted))

    assert parts == [((2, 4), 0), ((3, 4), 0), ((4, 4), 1)]
    assert created.id not in stored(context.db, TimeEntryRow)


def test_a_sweep_killed_half_way_leaves_no_seen_ids_and_its_slice_is_listed_again(
    autotask: tuple[ServiceContext, int], autotask_world: SandboxWorld
) -> None:
    context, source_id = autotask
    sync(context, source_id, [AUTOTASK_SWEEP])  # part 1
    gone = in_part(
        stored(context.db, TimeEntryRow), bounds(context.db, source_id, AUTOTASK_SWEEP), 2
    )
    next(e for e in autotask_world.time_entries if e.id == gone).deleted = True

    def kill(progress: StreamProgress) -> None:
        if progress.stream == AUTOTASK_SWEEP:
            raise Killed  # after the slice's first stored page, of two

    with pytest.raises(Killed):
        asyncio.run(
            context.runner.sync_source(
                source_id, trigger=Trigger.CLI, streams=[AUTOTASK_SWEEP], progress=kill
            )
        )
    with context.db.session() as session:
        killed = session.scalars(
            select(SyncRun).where(SyncRun.stream == AUTOTASK_SWEEP).order_by(SyncRun.id.desc())
        ).first()
        assert killed is not None
        killed_id, killed_notes = killed.id, killed.warnings
        noted = session.scalar(select(func.count()).where(SweepSeenId.run_id == killed_id))
    assert (noted, gone in stored(context.db, TimeEntryRow)) == (500, True)

    again = sync(context, source_id, [AUTOTASK_SWEEP])[AUTOTASK_SWEEP]

    with context.db.session() as session:
        left = session.scalar(select(func.count()).select_from(SweepSeenId))
        killed_status = session.get(SyncRun, killed_id).status  # type: ignore[union-attr]
    assert (left, killed_status) == (0, RunStatus.INTERRUPTED)
    assert part_of(again) == (2, 4) and killed_notes == again.warnings[:1]
    assert (again.facts_deleted, gone in stored(context.db, TimeEntryRow)) == (1, False)


def test_a_full_re_read_and_a_period_of_zero_list_every_id(
    settings: Settings, autotask: tuple[ServiceContext, int], autotask_world: SandboxWorld
) -> None:
    context, source_id = autotask
    live = {e.id for e in autotask_world.time_entries if not e.deleted}
    sync(context, source_id, [AUTOTASK_SWEEP])  # part 1
    gone = in_part(live, bounds(context.db, source_id, AUTOTASK_SWEEP), 3)
    next(e for e in autotask_world.time_entries if e.id == gone).deleted = True

    full = sync(context, source_id, [AUTOTASK_SWEEP], full=True)[AUTOTASK_SWEEP]

    assert (part_of(full), full.records, full.facts_deleted) == (None, len(live) - 1, 1)
    # The rotation under way goes on where it was.
    assert part_of(sync(context, source_id, [AUTOTASK_SWEEP])[AUTOTASK_SWEEP]) == (2, 4)
    every_run = context_for(settings, context.db, period_hours=0)
    whole = sync(every_run, source_id, [AUTOTASK_SWEEP])[AUTOTASK_SWEEP]
    assert (part_of(whole), whole.records) == (None, len(live) - 1)


@pytest.fixture
def connectwise_world() -> Iterator[SandboxWorld]:
    world = sandbox_world(*CONNECTWISE_WORLD, None)
    deleted = {t.id for t in world.tickets if t.deleted}
    yield world
    for ticket in world.tickets:
        ticket.deleted = ticket.id in deleted


def test_connectwise_lists_a_slice_of_tickets_with_an_id_condition(
    settings: Settings, db: Database, connectwise_world: SandboxWorld
) -> None:
    context = context_for(settings, db, period_hours=3)
    source_id = add_source(context, "connectwise", CONNECTWISE_WORLD)
    sync(context, source_id, ["tickets", CONNECTWISE_SWEEP])
    held = stored(db, TicketRow)
    listed = sum(not t.deleted for t in connectwise_world.tickets)  # merged ones included
    runs = [sync(context, source_id, [CONNECTWISE_SWEEP])[CONNECTWISE_SWEEP]]
    edges = bounds(db, source_id, CONNECTWISE_SWEEP)
    gone = in_part(held, edges, 2)
    next(t for t in connectwise_world.tickets if t.id == gone).deleted = True

    present_after = []
    for _ in range(2):
        runs.append(sync(context, source_id, [CONNECTWISE_SWEEP])[CONNECTWISE_SWEEP])
        present_after.append(gone in stored(db, TicketRow))

    assert [part_of(run) for run in runs] == [(1, 3), (2, 3), (3, 3)]
    assert present_after == [False, False]
    assert [run.facts_deleted for run in runs] == [0, 1, 0]
    assert sum(run.records for run in runs) == listed - 1
    # A slice of some 1,160 ids is two pages of 1,000; the whole list four and more.
    whole = sync(context, source_id, [CONNECTWISE_SWEEP], full=True)[CONNECTWISE_SWEEP]
    assert (part_of(whole), whole.records) == (None, listed - 1)
    assert ([run.requests for run in runs], whole.requests >= 4) == ([2, 2, 2], True)


def test_a_slice_costs_about_its_share_of_a_whole_listing(settings: Settings, db: Database) -> None:
    context = context_for(settings, db, period_hours=24)
    source_id = add_source(context, "autotask", (85, 4000))  # 12,000 time entries
    sync(context, source_id, ["time_entries", AUTOTASK_SWEEP])
    whole = sync(context, source_id, [AUTOTASK_SWEEP], full=True)[AUTOTASK_SWEEP]
    slices = [sync(context, source_id, [AUTOTASK_SWEEP])[AUTOTASK_SWEEP] for _ in range(3)]

    assert [part_of(run) for run in slices] == [(1, 24), (2, 24), (3, 24)]
    # 24 pages of 500 ids and a few counts to plan them, against a page and its count (a
    # full page is followed by one more request to see the slice ends).
    assert whole.requests >= 24
    assert all(run.requests <= whole.requests / 24 + 2 for run in slices), [
        (whole.requests, run.requests) for run in slices
    ]
