"""A reference table ConnectWise will not serve: enrich-only ones degrade with a warning in
plain words and the stream's records are still stored (and read again once the table answers);
required ones fail the stream."""

from __future__ import annotations

import pytest
from cw_support import ConnectorFactory, hand_world, simulator_for

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.simulator import ConnectWiseSimulator, SimulatorFaults
from connectors.sdk import (
    ClientFact,
    Cursor,
    FactOrDeletion,
    FatalError,
    Page,
    RecordRejected,
    TicketFact,
    TimeEntryFact,
)


def gap(resource: str, status: int = 404) -> ConnectWiseSimulator:
    return simulator_for(hand_world(), fail=SimulatorFaults(unavailable={resource: status}))


async def read(
    connector: ConnectWiseConnector, stream: str, cursor: Cursor | None = None
) -> tuple[list[Page], dict[str, FactOrDeletion], dict[str, RecordRejected]]:
    pages = [page async for page in connector.read(stream, cursor)]
    await connector.aclose()
    facts: dict[str, FactOrDeletion] = {}
    rejected: dict[str, RecordRejected] = {}
    for page in pages:
        for record in page.records:
            try:
                for fact in connector.normalize(stream, record):
                    facts[fact.external_id] = fact
            except RecordRejected as rejection:
                rejected[str(record["id"])] = rejection
    return pages, facts, rejected


def warnings_of(pages: list[Page]) -> list[str]:
    return sorted({warning for page in pages for warning in page.warnings})


@pytest.mark.anyio
async def test_missing_company_statuses_still_store_every_client(
    connector_for: ConnectorFactory,
) -> None:
    simulator = gap("/company/companies/statuses")
    pages, facts, _ = await read(connector_for(simulator), "companies")
    assert facts["2"] == ClientFact("2", "Acme Dental", True)
    assert facts["3"] == ClientFact("3", "Birch Law", False)  # its status is named Inactive
    assert pages[0].warnings == (
        "ConnectWise did not answer for company statuses (HTTP 404): a client counts as "
        "inactive only when its status is named 'Inactive'; clients are read again once "
        "ConnectWise answers.",
    )
    assert pages[-1].cursor["degraded"] == {"company_statuses": None}


@pytest.mark.anyio
async def test_clients_are_read_again_once_the_statuses_answer(
    connector_for: ConnectorFactory,
) -> None:
    simulator = gap("/company/companies/statuses", 403)
    first, _, _ = await read(connector_for(simulator), "companies")
    assert "(HTTP 403)" in first[0].warnings[0]
    unchanged, _, _ = await read(connector_for(simulator), "companies", first[-1].cursor)
    assert unchanged[-1].cursor["degraded"] == {"company_statuses": None}
    simulator.faults.unavailable.clear()
    again, facts, _ = await read(connector_for(simulator), "companies", unchanged[-1].cursor)
    assert set(facts) == {"1", "2", "3", "4"}  # all of them, although none changed
    assert warnings_of(again) == []
    assert "degraded" not in again[-1].cursor


@pytest.mark.anyio
@pytest.mark.parametrize("resource", ["/service/priorities", "/service/SLAs"])
async def test_tickets_are_stored_without_priorities_or_slas(
    connector_for: ConnectorFactory, resource: str
) -> None:
    pages, facts, rejected = await read(connector_for(gap(resource, 403)), "tickets")
    assert not rejected and set(facts) == {"1", "2", "3", "4", "5", "6"}
    ticket = facts["1"]
    assert isinstance(ticket, TicketFact)
    if resource == "/service/priorities":
        assert ticket.priority_level is None and ticket.response_met is True
        assert (
            "ticket priorities (HTTP 403): tickets are stored without a priority"
            in (pages[0].warnings[0])
        )
    else:
        assert ticket.priority_level == 3 and ticket.response_met is None
        assert "SLAs (HTTP 403): tickets are stored without SLA results" in pages[0].warnings[0]


@pytest.mark.anyio
async def test_time_entries_keep_their_own_work_type_flag_without_the_table(
    connector_for: ConnectorFactory,
) -> None:
    pages, facts, _ = await read(connector_for(gap("/time/workTypes")), "time_entries")
    internal = facts["2"]
    assert isinstance(internal, TimeEntryFact) and internal.counts_toward_utilization is False
    assert "work types (HTTP 404)" in pages[0].warnings[0]


@pytest.mark.anyio
async def test_unscorable_survey_results_are_rejected_and_read_again_later(
    connector_for: ConnectorFactory,
) -> None:
    simulator = gap("/service/surveys/{id}/questions")
    pages, facts, rejected = await read(connector_for(simulator), "survey_results")
    assert not facts
    assert rejected["1"].field == "surveyId"
    assert "questions of survey 1 are unavailable" in rejected["1"].reason
    assert (
        "the questions of survey 1 (HTTP 404): its results cannot be scored"
        in (warnings_of(pages)[0])
    )
    simulator.faults.unavailable.clear()
    _, facts, rejected = await read(connector_for(simulator), "survey_results", pages[-1].cursor)
    assert set(facts) == {"1"} and not rejected


@pytest.mark.anyio
async def test_a_required_table_that_is_missing_fails_the_stream(
    connector_for: ConnectorFactory,
) -> None:
    # Without billing cycles no agreement has an amount: storing them would zero the MRR.
    connector = connector_for(gap("/finance/billingCycles"))
    with pytest.raises(FatalError) as raised:
        await read(connector, "agreements")
    assert raised.value.code == "psa_http_404"
