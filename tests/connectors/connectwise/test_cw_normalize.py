"""Hand-checked facts: the tiny world of conftest read through the simulator, and pure cases."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cw_support import ConnectorFactory, at, hand_world, simulator_for

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.normalize import (
    normalize_company,
    normalize_member,
    normalize_ticket,
    normalize_time_entry,
)
from connectors.connectwise.revenue import amount_schedule
from connectors.connectwise.simulator_paging import Response, error_response
from connectors.sdk import (
    AmountPeriod,
    ClientFact,
    Deletion,
    FactOrDeletion,
    FactType,
    RecurringRevenueFact,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)

UTC_ZONE = ZoneInfo("UTC")


async def facts_of(connector: ConnectWiseConnector, stream: str) -> dict[str, FactOrDeletion]:
    facts: dict[str, FactOrDeletion] = {}
    async for page in connector.read(stream, None):
        for record in page.records:
            for fact in connector.normalize(stream, record):
                facts[fact.external_id] = fact
    await connector.aclose()
    return facts


@pytest.fixture
def connector(connector_for: ConnectorFactory) -> ConnectWiseConnector:
    return connector_for(simulator_for(hand_world()))


@pytest.mark.anyio
async def test_ticket_with_sla_met_on_both_stages(connector: ConnectWiseConnector) -> None:
    ticket = (await facts_of(connector, "tickets"))["1"]
    assert ticket == TicketFact(
        external_id="1",
        created_at=at("2025-10-06"),
        number="1",
        title="Ticket 1",
        client_external_id="2",
        board="Service Desk",
        status=">Closed",
        is_closed=True,
        priority="Priority 3 - Normal Response",
        priority_level=3,
        assignee_external_id="1",
        first_response_at=at("2025-10-06", 11),
        resolved_at=at("2025-10-07", 10),
        closed_at=at("2025-10-07", 12),
        response_met=True,
        resolution_met=True,
        updated_at=at("2025-10-10"),
    )


@pytest.mark.anyio
async def test_ticket_breaching_both_stages_resolved_not_closed(
    connector: ConnectWiseConnector,
) -> None:
    ticket = (await facts_of(connector, "tickets"))["2"]
    assert isinstance(ticket, TicketFact)
    assert (ticket.response_met, ticket.resolution_met) == (False, False)
    assert ticket.is_closed is False and ticket.closed_at is None
    assert ticket.resolved_at == at("2025-10-09", 10)
    assert ticket.status == "Resolved"


@pytest.mark.anyio
async def test_ticket_without_sla_has_no_stage_results(connector: ConnectWiseConnector) -> None:
    ticket = (await facts_of(connector, "tickets"))["3"]
    assert isinstance(ticket, TicketFact)
    assert (ticket.response_met, ticket.resolution_met) == (None, None)
    assert ticket.board == "Projects Support"


@pytest.mark.anyio
async def test_priority_override_replaces_only_the_stage_it_sets(
    connector: ConnectWiseConnector,
) -> None:
    ticket = (await facts_of(connector, "tickets"))["4"]
    assert isinstance(ticket, TicketFact)
    # P1 override: respond within 1 h (90 min: breached); resolution keeps the SLA's 24 h.
    assert (ticket.response_met, ticket.resolution_met) == (False, True)
    assert (ticket.priority, ticket.priority_level) == ("Priority 1 - Emergency Response", 1)


@pytest.mark.anyio
async def test_ticket_not_yet_responded(connector: ConnectWiseConnector) -> None:
    ticket = (await facts_of(connector, "tickets"))["5"]
    assert isinstance(ticket, TicketFact)
    assert (ticket.response_met, ticket.resolution_met) == (None, None)
    assert ticket.first_response_at is None and ticket.assignee_external_id is None
    assert ticket.status == "New"


@pytest.mark.anyio
async def test_merged_ticket_is_a_deletion_and_deleted_ticket_absent(
    connector: ConnectWiseConnector,
) -> None:
    facts = await facts_of(connector, "tickets")
    assert facts["6"] == Deletion(FactType.TICKET, "6")
    assert "7" not in facts


@pytest.mark.anyio
async def test_time_entries_billable_internal_and_project(connector: ConnectWiseConnector) -> None:
    facts = await facts_of(connector, "time_entries")
    assert facts["1"] == TimeEntryFact(
        external_id="1",
        technician_external_id="1",
        work_date=date(2025, 10, 6),
        hours=1.5,
        billable_hours=1.25,
        counts_toward_utilization=True,
        client_external_id="2",
        ticket_external_id="1",
        started_at=at("2025-10-06", 10),
    )
    # Charged to the MSP's own ("Owner") company: internal, admin work type does not count.
    assert facts["2"] == TimeEntryFact(
        "2", "1", date(2025, 10, 6), 2.0, 0.0, False, None, None, at("2025-10-06", 14)
    )
    # NoCharge project time: hoursBilled is reported but not billable; no service ticket.
    assert facts["3"] == TimeEntryFact(
        "3", "2", date(2025, 10, 7), 3.0, 0.0, True, "3", None, at("2025-10-07", 9)
    )


@pytest.mark.anyio
async def test_owner_company_from_configured_identifier(connector_for: ConnectorFactory) -> None:
    connector = connector_for(simulator_for(hand_world()), owner_company_identifier="AcmeDental")
    facts = await facts_of(connector, "time_entries")
    assert facts["1"].client_external_id is None  # type: ignore[union-attr]
    assert facts["2"].client_external_id == "1"  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_owner_company_found_without_child_conditions(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world())
    original = simulator.handle

    def refuse_child_conditions(
        method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        if "childConditions" in query:
            return error_response(400, "InvalidObject", "childConditions is not supported.")
        return original(method, path, query, headers, body)

    simulator.handle = refuse_child_conditions  # type: ignore[method-assign]
    facts = await facts_of(connector_for(simulator), "time_entries")
    assert facts["2"].client_external_id is None  # type: ignore[union-attr]
    assert facts["1"].client_external_id == "2"  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_agreement_with_additions_and_cancellation(connector: ConnectWiseConnector) -> None:
    facts = await facts_of(connector, "agreements")
    assert facts["2"] == RecurringRevenueFact(
        external_id="2",
        name="Acme Dental - Managed Services",
        starts_on=date(2025, 1, 1),
        client_external_id="2",
        ends_on=None,
        cancelled_on=date(2025, 7, 31),
        amount_schedule=(
            AmountPeriod(date(2025, 1, 1), date(2025, 3, 15), Decimal(120)),
            AmountPeriod(date(2025, 3, 15), date(2025, 5, 1), Decimal(170)),
            AmountPeriod(date(2025, 5, 1), date(2025, 7, 31), Decimal(120)),
        ),
    )
    assert facts["1"] == RecurringRevenueFact(
        external_id="1",
        name="Birch Law - Managed Services",
        starts_on=date(2024, 6, 1),
        client_external_id="3",
        ends_on=date(2025, 5, 31),
        amount_schedule=(AmountPeriod(date(2024, 6, 1), date(2025, 6, 1), Decimal(500)),),
    )


@pytest.mark.anyio
async def test_survey_result_scored_against_max_points(connector: ConnectWiseConnector) -> None:
    facts = await facts_of(connector, "survey_results")
    assert facts == {
        "1": SurveyResponseFact(
            external_id="1",
            completed_at=at("2025-10-08", 8),
            score=0.75,
            ticket_external_id="1",
            client_external_id="2",
        )
    }


@pytest.mark.anyio
async def test_members_and_companies(connector: ConnectWiseConnector) -> None:
    members = await facts_of(connector, "members")
    assert members["1"] == TechnicianFact(
        "1", "Jordan Smith", "jordan@nw.example", True, True, (7.5,) * 5 + (0.0, 0.0)
    )
    assert members["2"] == TechnicianFact(
        "2", "Priya Patel", "priya@nw.example", False, False, (8.0,) * 5 + (0.0, 0.0)
    )


@pytest.mark.anyio
async def test_companies_inactive_and_soft_deleted(connector_for: ConnectorFactory) -> None:
    companies = await facts_of(connector_for(simulator_for(hand_world())), "companies")
    assert companies["2"] == ClientFact("2", "Acme Dental", True)
    assert companies["3"] == ClientFact("3", "Birch Law", False)
    assert companies["4"] == Deletion(FactType.CLIENT, "4")


# -- pure cases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [{"id": 9}, {"id": 9, "_info": {}}, {"id": 9, "priority": None, "sla": {}, "_info": None}],
)
def test_absent_optional_fields_never_crash(record: dict[str, Any]) -> None:
    assert normalize_company(record) == [ClientFact("9", "9", True)]
    assert normalize_member(record) == [
        TechnicianFact("9", "9", None, True, False, (8.0,) * 5 + (0.0, 0.0))
    ]


def test_minimal_ticket_needs_only_id_and_date_entered() -> None:
    facts = normalize_ticket({"id": 3, "_info": {"dateEntered": "2025-01-02T03:04:05Z"}})
    assert facts == [TicketFact("3", datetime.fromisoformat("2025-01-02T03:04:05+00:00"), "3")]


def test_reopened_ticket_ignores_stale_closed_date_and_falls_back_for_resolution() -> None:
    record = {
        "id": 1,
        "closedFlag": False,
        "closedDate": "2025-03-05T18:41:27Z",
        "_info": {"dateEntered": "2025-03-04T14:00:09Z"},
    }
    (fact,) = normalize_ticket(record)
    assert isinstance(fact, TicketFact)
    assert fact.closed_at is None and fact.resolved_at is None
    (closed,) = normalize_ticket(record | {"closedFlag": True})
    assert isinstance(closed, TicketFact)
    assert closed.resolved_at == closed.closed_at == at("2025-03-05", 18, 41).replace(second=27)


def test_work_date_is_taken_in_the_reporting_time_zone() -> None:
    record = {"id": 1, "timeStart": "2025-03-04T02:30:00Z", "actualHours": 1.0}
    (utc,) = normalize_time_entry(record, UTC_ZONE)
    (new_york,) = normalize_time_entry(record, ZoneInfo("America/New_York"))
    assert isinstance(utc, TimeEntryFact) and isinstance(new_york, TimeEntryFact)
    assert (utc.work_date, new_york.work_date) == (date(2025, 3, 4), date(2025, 3, 3))


def test_utilization_flag_falls_back_to_work_type_table_then_true() -> None:
    base = {"id": 1, "timeStart": "2025-03-04T10:00:00Z", "actualHours": 1.0, "workType": {"id": 3}}
    (from_table,) = normalize_time_entry(
        base | {"_northstar": {"utilizationFlag": False}}, UTC_ZONE
    )
    (unknown,) = normalize_time_entry(base, UTC_ZONE)
    assert isinstance(from_table, TimeEntryFact) and isinstance(unknown, TimeEntryFact)
    assert (from_table.counts_toward_utilization, unknown.counts_toward_utilization) == (
        False,
        True,
    )


AGREEMENT = {"id": 1, "startDate": "2025-01-01T00:00:00Z", "billAmount": 1200.0}


@pytest.mark.parametrize("option", ["NotRecurring", "Fortnightly", None])
def test_non_recurring_or_unknown_cycle_has_no_amount(option: str | None) -> None:
    assert amount_schedule(AGREEMENT, [], option) == ()


@pytest.mark.parametrize(
    ("option", "monthly"),
    [("Yearly", Decimal(100)), ("Weekly", Decimal(5200)), ("SemiAnnual", Decimal(200))],
)
def test_cycle_factors(option: str, monthly: Decimal) -> None:
    (period,) = amount_schedule(AGREEMENT, [], option)
    assert period == AmountPeriod(date(2025, 1, 1), None, monthly)


def test_cancelled_on_the_31st_does_not_count_on_the_31st() -> None:
    record = AGREEMENT | {"dateCancelled": "2025-01-31T00:00:00Z"}
    assert amount_schedule(record, [], "Monthly") == (
        AmountPeriod(date(2025, 1, 1), date(2025, 1, 31), Decimal("1200.0")),
    )


def test_additions_count_only_billable_and_while_their_agreement_counts() -> None:
    record = AGREEMENT | {"endDate": "2025-02-28T00:00:00Z"}
    additions = [
        {"billCustomer": "Billable", "quantity": 5, "lessIncluded": 1, "unitPrice": 10.0,
         "effectiveDate": "2024-12-01T00:00:00Z"},
        {"billCustomer": "DoNotBill", "quantity": 5, "unitPrice": 99.0},
        {"billCustomer": "Billable", "quantity": 1, "unitPrice": 50.0,
         "effectiveDate": "2025-02-10T00:00:00Z", "cancelledDate": "2025-06-01T00:00:00Z"},
    ]  # fmt: skip
    assert amount_schedule(record, additions, "Monthly") == (
        AmountPeriod(date(2025, 1, 1), date(2025, 2, 10), Decimal("1240.0")),
        AmountPeriod(date(2025, 2, 10), date(2025, 3, 1), Decimal("1290.0")),
    )


def test_no_ending_date_flag_wins_over_an_end_date() -> None:
    record = AGREEMENT | {"endDate": "2025-02-28T00:00:00Z", "noEndingDateFlag": True}
    (period,) = amount_schedule(record, [], "Monthly")
    assert period.valid_to is None


def test_project_tickets_never_count_as_service_tickets() -> None:
    record = {
        "id": 5,
        "recordType": "ProjectTicket",
        "_info": {"dateEntered": "2025-01-02T03:04:05Z"},
    }
    assert normalize_ticket(record) == [Deletion(FactType.TICKET, "5")]


@pytest.mark.anyio
async def test_non_recurring_agreement_has_no_amount_and_costs_no_additions_request(
    connector_for: ConnectorFactory,
) -> None:
    simulator = simulator_for(hand_world())
    original = simulator.handle

    def monthly_is_one_time(
        method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        response = original(method, path, query, headers, body)
        if path.endswith("/finance/billingCycles"):
            response.body = [
                row | {"billingOptions": "NotRecurring"} if row["id"] == 1 else row
                for row in response.body
            ]
        return response

    simulator.handle = monthly_is_one_time  # type: ignore[method-assign]
    facts = await facts_of(connector_for(simulator), "agreements")
    monthly = facts["1"]
    assert isinstance(monthly, RecurringRevenueFact) and monthly.amount_schedule == ()
    assert simulator.requests["GET /finance/agreements/{id}/additions"] == 1  # only the other
