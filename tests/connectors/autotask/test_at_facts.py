"""Hand-checked facts: the tiny world read through the simulator, every value by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
from at_support import at, connector_for, simulator_for

from connectors.autotask import AutotaskConnector
from connectors.sandbox.model import SandboxWorld
from connectors.sdk import (
    AmountPeriod,
    ClientFact,
    Deletion,
    FactOrDeletion,
    FactType,
    MatchedDeletion,
    RecurringRevenueFact,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)
from connectors.sdk.facts import DEFAULT_CAPACITY

pytestmark = pytest.mark.anyio
WORKDAY = at(0).date()


async def facts_of(connector: AutotaskConnector, stream: str) -> list[FactOrDeletion]:
    facts: list[FactOrDeletion] = []
    async for page in connector.read(stream, None):
        for record in page.records:
            facts.extend(connector.normalize(stream, record))
    return facts


@pytest.fixture
async def connector(world: SandboxWorld) -> AsyncIterator[AutotaskConnector]:
    connector = connector_for(simulator_for(world))
    yield connector
    await connector.aclose()


async def test_tickets_follow_the_autotask_field_rules(connector: AutotaskConnector) -> None:
    tickets = {f.external_id: f for f in await facts_of(connector, "tickets")}
    assert set(tickets) == {"10", "13", "20"}  # 14 is deleted
    assert tickets["10"] == TicketFact(
        external_id="10",
        created_at=at(0),
        number="T20250303.0001",
        title="Outlook keeps asking for a password",
        client_external_id="2",
        board="Service Desk",
        status="Complete",
        is_closed=True,
        priority="Critical",
        priority_level=1,
        assignee_external_id="1",
        first_response_at=at(0.5),
        resolved_at=at(4),
        closed_at=at(5),
        response_met=True,  # the newest SLA row; an older one says the opposite
        resolution_met=False,
        updated_at=at(5),
    )


async def test_inactive_status_label_and_folded_priority(connector: AutotaskConnector) -> None:
    tickets = {f.external_id: f for f in await facts_of(connector, "tickets")}
    waiting = tickets["20"]
    assert isinstance(waiting, TicketFact)
    assert (waiting.status, waiting.is_closed, waiting.closed_at) == ("Waiting Vendor", False, None)
    assert (waiting.priority, waiting.priority_level) == ("Planned", 4)
    assert (waiting.response_met, waiting.resolution_met) == (None, None)  # no SLA at all
    assert waiting.board == "Escalations"


async def test_sla_without_result_rows_compares_actual_and_due(
    connector: AutotaskConnector,
) -> None:
    tickets = {f.external_id: f for f in await facts_of(connector, "tickets")}
    resolved = tickets["13"]
    assert isinstance(resolved, TicketFact)
    assert (resolved.response_met, resolved.resolution_met) == (True, False)
    assert (resolved.is_closed, resolved.resolved_at, resolved.closed_at) == (False, at(6), None)
    assert (resolved.priority, resolved.priority_level) == ("Medium", 3)


async def test_deleted_ticket_becomes_a_deletion(connector: AutotaskConnector) -> None:
    assert await facts_of(connector, "deleted_tickets") == [Deletion(FactType.TICKET, "14")]


async def test_deleted_notes_are_not_time_deletions(connector: AutotaskConnector) -> None:
    assert await facts_of(connector, "deleted_time_entries") == []


async def test_technicians_capacity_and_inclusion(connector: AutotaskConnector) -> None:
    techs = {f.external_id: f for f in await facts_of(connector, "resources")}
    assert techs["1"] == TechnicianFact("1", "Alice Morgan", "alice@msp.example")
    assert techs["2"] == TechnicianFact(
        "2", "Ben Okafor", "ben@msp.example", capacity_hours=(6.0,) * 5 + (0.0, 0.0)
    )
    # Two availability rows: the highest id (all zeros) wins, so not measured.
    assert techs["3"] == TechnicianFact(
        "3", "Chloe Reyes", "chloe@msp.example", included_in_utilization=False,
        capacity_hours=(0.0,) * 7,
    )  # fmt: skip
    assert techs["4"] == TechnicianFact(
        "4", "Integration API", "api@msp.example", included_in_utilization=False,
        capacity_hours=DEFAULT_CAPACITY,
    )  # fmt: skip


async def test_time_entries_client_billable_and_utilisation(
    connector: AutotaskConnector,
) -> None:
    entries = {f.external_id: f for f in await facts_of(connector, "time_entries")}
    assert entries == {
        "1": TimeEntryFact("1", "1", WORKDAY, 1.5, 1.5, True, "2", "10", started_at=at(1)),
        # non-billable: hoursToBill is 0.5 but the flag wins
        "2": TimeEntryFact("2", "2", WORKDAY, 0.5, 0.0, True, "2", "20", started_at=at(2)),
        # project time: a task, the client from the contract
        "3": TimeEntryFact("3", "2", WORKDAY, 2.0, 1.0, True, "3", None, started_at=at(3)),
        # internal: no ticket, no task, no contract
        "4": TimeEntryFact("4", "1", WORKDAY, 1.0, 0.0, False, None, None, started_at=at(4)),
        # its ticket was deleted: the contract still names the client
        "5": TimeEntryFact("5", "1", WORKDAY, 0.25, 0.25, True, "2", "14", started_at=at(5)),
    }


async def test_contract_amount_schedule_from_service_units(
    connector: AutotaskConnector,
) -> None:
    (contract,) = await facts_of(connector, "contracts")
    assert contract == RecurringRevenueFact(
        external_id="1",
        name="Acme Dental - Managed Services",
        starts_on=date(2025, 1, 1),
        client_external_id="2",
        ends_on=date(2025, 6, 30),  # cancelled on 1 July: ends the day before
        amount_schedule=(
            AmountPeriod(date(2025, 1, 1), date(2025, 2, 15), Decimal(300)),
            AmountPeriod(date(2025, 2, 15), date(2025, 7, 1), Decimal(400)),
        ),
    )


async def test_only_answered_surveys_with_scaled_score(connector: AutotaskConnector) -> None:
    assert await facts_of(connector, "survey_results") == [
        SurveyResponseFact("1", at(6), 0.75, "10", "2", "1")
    ]


async def test_clients(connector: AutotaskConnector) -> None:
    assert await facts_of(connector, "companies") == [
        ClientFact("1", "Northwind IT"),
        ClientFact("2", "Acme Dental"),
        ClientFact("3", "Harbor Logistics", active=False),
    ]


async def test_deleted_time_entries_through_both_logs(world: SandboxWorld) -> None:
    ticket_time, project_time = world.time_entries[0], world.time_entries[2]
    ticket_time.deleted = project_time.deleted = True
    connector = connector_for(simulator_for(world))
    from_tickets = await facts_of(connector, "deleted_time_entries")
    from_tasks = await facts_of(connector, "deleted_task_time_entries")
    await connector.aclose()
    # The log names no entry: the deletion is matched by what it does say (the note skipped).
    assert from_tickets == [
        MatchedDeletion(
            FactType.TIME_ENTRY,
            match=(
                ("ticket_external_id", "10"),
                ("technician_external_id", "1"),
                ("started_at", at(1)),
                ("hours", 1.5),
            ),
        )
    ]
    assert from_tasks == [
        MatchedDeletion(
            FactType.TIME_ENTRY,
            match=(
                ("ticket_external_id", None),
                ("technician_external_id", "2"),
                ("started_at", at(3)),
                ("hours", 2.0),
            ),
        )
    ]
