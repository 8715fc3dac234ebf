"""Bad records: the reader pages past them, `normalize` rejects them naming the field, and
the rest of the page still becomes facts (the runner quarantines the rejected ones)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from at_support import connector_for, simulator_for

from connectors.autotask import AutotaskConnector
from connectors.autotask.enrich import ENRICHMENT_KEY
from connectors.autotask.simulator import ABSENT
from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.world import build_world
from connectors.sdk import Fact, FactOrDeletion, Page, RecordRejected

pytestmark = pytest.mark.anyio


async def read_all(connector: AutotaskConnector, stream: str) -> list[Page]:
    return [page async for page in connector.read(stream, None)]


def outcome(
    connector: AutotaskConnector, stream: str, pages: list[Page]
) -> tuple[list[FactOrDeletion], list[tuple[Any, str, str]]]:
    facts: list[FactOrDeletion] = []
    rejected: list[tuple[Any, str, str]] = []
    for page in pages:
        for record in page.records:
            try:
                facts.extend(connector.normalize(stream, record))
            except RecordRejected as exc:
                rejected.append((record.get("id"), exc.field, exc.reason))
    return facts, rejected


def ids(facts: list[FactOrDeletion]) -> set[str]:
    return {f.external_id for f in facts if isinstance(f, Fact)}


async def test_a_time_entry_without_date_worked_is_rejected_not_fatal(
    world: SandboxWorld,
) -> None:
    simulator = simulator_for(world)
    simulator.tamper("TimeEntries", 3, dateWorked=None)
    simulator.tamper("TimeEntries", 4, hoursWorked="1,5")
    connector = connector_for(simulator)
    pages = await read_all(connector, "time_entries")
    again = await read_all(connector, "time_entries")  # the next sync meets it again
    await connector.aclose()
    facts, rejected = outcome(connector, "time_entries", pages)
    assert rejected == [(3, "dateWorked", "missing"), (4, "hoursWorked", "not a number: '1,5'")]
    assert ids(facts) == {"1", "2", "5"}
    assert outcome(connector, "time_entries", again)[1] == rejected


@pytest.fixture
def three_pages() -> SandboxWorld:
    return build_world(seed=9, tickets=1300)


async def test_records_without_ids_do_not_stop_the_reader(three_pages: SandboxWorld) -> None:
    simulator = simulator_for(three_pages)
    tickets = simulator.table("Tickets").ids
    sla_rows = simulator.table("ServiceLevelAgreementResults").rows
    entries = simulator.table("TimeEntries").ids
    simulator.tamper("Tickets", tickets[499], id=ABSENT)  # the last of the first page
    simulator.tamper("Tickets", tickets[700], id="T-700")
    simulator.tamper("ServiceLevelAgreementResults", int(sla_rows[-1][0]), id=None)
    simulator.tamper("TimeEntries", entries[999], id=ABSENT)
    connector = connector_for(simulator)
    ticket_pages = await read_all(connector, "tickets")
    entry_pages = await read_all(connector, "time_entries")
    await connector.aclose()
    facts, rejected = outcome(connector, "tickets", ticket_pages)
    # Paging went on after the last record with an id, so the one without may come twice.
    assert {r[1:] for r in rejected} == {("id", "missing"), ("id", "not an id: 'T-700'")}
    assert ids(facts) == {str(i) for i in tickets} - {str(tickets[499]), str(tickets[700])}
    assert len(facts) == len(tickets) - 2  # every other ticket once
    with_sla = [r for p in ticket_pages for r in p.records if r[ENRICHMENT_KEY]["sla"]]
    assert len(with_sla) > len(tickets) / 2  # SLA batching carried on, rows attached
    facts, rejected = outcome(connector, "time_entries", entry_pages)
    assert {r[1:] for r in rejected} == {("id", "missing")}
    assert len(facts) == len(entries) - 1


BAD_VALUES = (ABSENT, None, "abc", "", [1], {"a": 1}, True, -1.5, float("nan"))


def corrupted(record: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The record with one field (or one field of what was attached to it) spoiled."""
    for name, value in record.items():
        for bad in BAD_VALUES:
            spoiled = dict(record)
            if bad is ABSENT:
                del spoiled[name]
            else:
                spoiled[name] = bad
            yield name, spoiled
        if name != ENRICHMENT_KEY:
            continue
        for key, extra in value.items():
            rows = extra if isinstance(extra, list) else [extra]
            for row in rows:
                if not isinstance(row, dict):
                    continue
                for field in row:
                    for bad in BAD_VALUES:
                        spoiled_row = {**row, field: bad}
                        spoiled_extra: Any = (
                            [spoiled_row if r is row else r for r in rows]
                            if isinstance(extra, list)
                            else spoiled_row
                        )
                        yield f"{key}.{field}", {**record, name: {**value, key: spoiled_extra}}


async def test_no_spoiled_field_crashes_normalize(world: SandboxWorld) -> None:
    world.time_entries[0].deleted = world.time_entries[2].deleted = True  # logs to spoil
    connector = connector_for(simulator_for(world))
    seen_streams = 0
    for stream in connector.streams:
        pages = await read_all(connector, stream)
        for record in [r for page in pages for r in page.records][:3]:
            seen_streams += 1
            for where, spoiled in corrupted(record):
                try:
                    connector.normalize(stream, spoiled)
                except RecordRejected as exc:
                    assert exc.field and exc.reason, (stream, where)
                # Anything else escaping (KeyError, ValueError, TypeError) fails the test.
    await connector.aclose()
    assert seen_streams >= 9
