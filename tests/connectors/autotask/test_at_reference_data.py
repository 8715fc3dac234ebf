"""Reference data that only enriches (picklists, SLA results) may be refused: the stream's
records are still read and stored, and each page says what it had to do without."""

from __future__ import annotations

import pytest
from at_support import FakeTime, connector_for, simulator_for

from connectors.autotask import AutotaskConnector
from connectors.sandbox.model import SandboxWorld
from connectors.sdk import FatalError, MatchedDeletion, Page, TicketFact, TransientError

pytestmark = pytest.mark.anyio
NO_PERMISSION = "The logged in Resource does not have the adequate permissions to query."


async def tickets_of(connector: AutotaskConnector) -> tuple[list[Page], dict[str, TicketFact]]:
    pages = [page async for page in connector.read("tickets", None)]
    facts = {}
    for page in pages:
        for record in page.records:
            for fact in connector.normalize("tickets", record):
                assert isinstance(fact, TicketFact)
                facts[fact.external_id] = fact
    return pages, facts


async def test_missing_ticket_picklists_store_tickets_without_labels(
    world: SandboxWorld,
) -> None:
    simulator = simulator_for(world)
    simulator.withhold("Tickets/entityInformation/fields", status=404)
    connector = connector_for(simulator)
    pages, tickets = await tickets_of(connector)
    await connector.aclose()
    assert set(tickets) == {"10", "13", "20"}
    closed = tickets["10"]
    assert (closed.status, closed.priority, closed.board, closed.priority_level) == (
        None,
        None,
        None,
        None,
    )
    assert closed.is_closed and closed.response_met is True  # status 5 and SLA rows still count
    (warnings,) = {tuple(page.warnings) for page in pages}
    assert len(warnings) == 4
    assert any("status labels" in w and "404" in w for w in warnings)
    assert simulator.stats.requests["Tickets"] == 2  # the page, and the metadata asked once


async def test_refused_sla_results_fall_back_to_due_dates(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    simulator.inject(500, NO_PERMISSION, entity="ServiceLevelAgreementResults", times=100)
    connector = connector_for(simulator)
    pages, tickets = await tickets_of(connector)
    await connector.aclose()
    assert set(tickets) == {"10", "13", "20"}
    assert (tickets["13"].response_met, tickets["13"].resolution_met) == (True, False)
    assert (tickets["10"].response_met, tickets["10"].resolution_met) == (None, None)
    assert pages[0].warnings == (
        "Autotask would not give SLA results (Autotask answered 500 on POST "
        "ServiceLevelAgreementResults/query: " + NO_PERMISSION + "): "
        "whether each SLA was met is taken from the tickets' due dates.",
    )


async def test_missing_activity_types_tell_time_by_its_hours(world: SandboxWorld) -> None:
    world.time_entries[0].deleted = True
    simulator = simulator_for(world)
    simulator.withhold("DeletedTicketActivityLogs/entityInformation/fields", status=404)
    connector = connector_for(simulator)
    pages = [page async for page in connector.read("deleted_time_entries", None)]
    await connector.aclose()
    facts = [
        f for p in pages for r in p.records for f in connector.normalize("deleted_time_entries", r)
    ]
    assert len(facts) == 1 and isinstance(facts[0], MatchedDeletion)  # the note has no hours
    assert "told from notes by its hours" in pages[0].warnings[0]


async def test_contract_periods_are_required_not_enrichment(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    simulator.withhold("Contracts/entityInformation/fields", status=404)
    connector = connector_for(simulator)
    with pytest.raises(FatalError, match="404"):
        _ = [page async for page in connector.read("contracts", None)]
    await connector.aclose()


async def test_an_unavailable_metadata_endpoint_is_not_a_refusal(world: SandboxWorld) -> None:
    simulator = simulator_for(world)
    simulator.withhold("Tickets/entityInformation/fields", status=503, message="Busy")
    fake = FakeTime()
    connector = connector_for(simulator, sleep=fake.sleep)
    with pytest.raises(TransientError):  # fails the read: it resumes later, with labels
        _ = [page async for page in connector.read("tickets", None)]
    await connector.aclose()
    assert fake.sleeps  # retried first
