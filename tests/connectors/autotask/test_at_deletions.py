"""Deleted time entries: Autotask's deletion logs name no time entry, so a deletion matches
the stored entry by ticket (or no ticket), resource, start and hours, never by the log's id."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from at_support import at, connector_for, simulator_for

from connectors.autotask import AutotaskConnector
from connectors.sandbox.model import SandboxWorld, TimeKind
from connectors.sandbox.world import build_world
from connectors.sdk import Deletion, FactType, MatchedDeletion, TimeEntryFact

pytestmark = pytest.mark.anyio


class TimeStore:
    """Stored time entries, deleted by the store's rule: only when exactly one matches."""

    def __init__(self) -> None:
        self.entries: dict[str, TimeEntryFact] = {}
        self.unmatched: list[MatchedDeletion] = []

    async def read(self, connector: AutotaskConnector, stream: str) -> None:
        async for page in connector.read(stream, None):
            for record in page.records:
                for fact in connector.normalize(stream, record):
                    if isinstance(fact, TimeEntryFact):
                        self.entries[fact.external_id] = fact
                    elif isinstance(fact, MatchedDeletion):
                        self.delete(fact)
                    elif isinstance(fact, Deletion):  # by id: what a log must never do
                        self.entries.pop(fact.external_id, None)

    def matching(self, deletion: MatchedDeletion) -> list[str]:
        assert deletion.fact_type is FactType.TIME_ENTRY
        return [
            key
            for key, entry in self.entries.items()
            if all(getattr(entry, field) == value for field, value in deletion.match)
        ]

    def delete(self, deletion: MatchedDeletion) -> None:
        found = self.matching(deletion)
        if len(found) == 1:
            del self.entries[found[0]]
        else:
            self.unmatched.append(deletion)


async def test_log_ids_that_are_live_entry_ids_delete_no_live_entry(
    world: SandboxWorld,
) -> None:
    simulator = simulator_for(world)
    store = TimeStore()
    connector = connector_for(simulator)
    await store.read(connector, "time_entries")
    await connector.aclose()
    assert set(store.entries) == {"1", "2", "3", "4", "5"}
    deleted = world.time_entries[4]  # ticket 14's quarter hour
    deleted.deleted, deleted.updated_at = True, at(30)
    simulator.refresh()
    logs = simulator.table("DeletedTicketActivityLogs")
    log_ids = {int(row[0]) for row in logs.rows}
    # Numbered in their own sequence: the deleted entry's log (and a deleted note's) carry
    # ids of entries that are still live.
    assert log_ids == {1, 2} and all(str(i) in store.entries for i in log_ids)
    connector = connector_for(simulator)
    await store.read(connector, "deleted_time_entries")
    await connector.aclose()
    assert set(store.entries) == {"1", "2", "3", "4"}  # exactly the deleted one went
    assert store.unmatched == []


@pytest.fixture(scope="module")
def generated() -> SandboxWorld:
    return build_world(seed=13, tickets=1500)


async def test_logged_deletions_match_exactly_the_deleted_entries(
    generated: SandboxWorld,
) -> None:
    world = dataclasses.replace(
        generated, time_entries=[dataclasses.replace(e) for e in generated.time_entries]
    )
    simulator = simulator_for(world)
    store = TimeStore()
    connector = connector_for(simulator)
    await store.read(connector, "time_entries")
    await connector.aclose()
    assert len(store.entries) == len(world.time_entries)
    logged = [e for e in world.time_entries[::20] if e.kind is not TimeKind.INTERNAL]
    internal = next(e for e in world.time_entries if e.kind is TimeKind.INTERNAL)
    for entry in [*logged, internal]:
        entry.deleted, entry.updated_at = True, world.generated_at + timedelta(hours=1)
    simulator.refresh()
    connector = connector_for(simulator)
    deletions: list[MatchedDeletion] = []
    for stream in ("deleted_time_entries", "deleted_task_time_entries"):
        async for page in connector.read(stream, None):
            for record in page.records:
                facts = connector.normalize(stream, record)
                deletions.extend(f for f in facts if isinstance(f, MatchedDeletion))
    await connector.aclose()
    assert len(deletions) == len(logged)  # internal time leaves no log; notes are not time
    # What the logs say equals what the stored entry says, as the store compares it.
    keys = Counter(
        (e.ticket_external_id, e.technician_external_id, e.started_at, e.hours)
        for e in store.entries.values()
    )
    matched: set[str] = set()
    for deletion in deletions:
        found = store.matching(deletion)
        assert found, deletion
        key = tuple(value for _, value in deletion.match)
        if keys[key] == 1:  # entries alike in all four are left to the id sweep
            (only,) = found
            matched.add(only)
    assert matched <= {str(e.id) for e in logged}
    assert len(matched) >= 0.9 * len(logged)
    assert any(e.kind is TimeKind.PROJECT for e in logged)


def log_row(**fields: Any) -> dict[str, Any]:
    return {
        "id": 7,  # the log's own id, never a time entry's
        "typeID": 1,
        "ticketID": 10,
        "createdByResourceID": 3,
        "startDateTime": "2025-03-03T09:00:00Z",
        "hoursWorked": 1.5,
        "deletedDateTime": "2025-03-04T09:00:00Z",
        **fields,
    }


def normalized(
    connector: AutotaskConnector, row: dict[str, Any], stream: str = "deleted_time_entries"
) -> list[Any]:
    return connector.normalize(stream, row)


@pytest.mark.parametrize("missing", ["startDateTime", "createdByResourceID", "hoursWorked"])
async def test_a_log_too_vague_to_match_deletes_nothing(world: SandboxWorld, missing: str) -> None:
    connector = connector_for(simulator_for(world))
    await connector.aclose()
    assert normalized(connector, log_row(**{missing: None})) == []
    assert normalized(connector, log_row()) != []


async def test_accepted_type_ids_are_configurable(world: SandboxWorld) -> None:
    connector = connector_for(simulator_for(world), time_entry_activity_type_ids=[4])
    await connector.aclose()
    assert normalized(connector, log_row(typeID=1)) == []
    (deletion,) = normalized(connector, log_row(typeID=4))
    assert isinstance(deletion, MatchedDeletion)
    assert dict(deletion.match)["ticket_external_id"] == "10"


async def test_deletions_from_logs_can_be_switched_off(world: SandboxWorld) -> None:
    connector = connector_for(simulator_for(world), time_entry_deletions_from_logs=False)
    await connector.aclose()
    assert normalized(connector, log_row()) == []


async def test_task_time_deletion_matches_time_without_a_ticket(world: SandboxWorld) -> None:
    connector = connector_for(simulator_for(world))
    await connector.aclose()
    row = log_row(ticketID=None, taskID=900_002)
    (deletion,) = normalized(connector, row, "deleted_task_time_entries")
    assert isinstance(deletion, MatchedDeletion)
    assert dict(deletion.match) == {
        "ticket_external_id": None,
        "technician_external_id": "3",
        "started_at": at(0),
        "hours": 1.5,
    }
