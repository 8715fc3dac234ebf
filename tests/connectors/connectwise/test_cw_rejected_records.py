"""A record that cannot become a fact is rejected by field and reason, never dropped or
zeroed; the reader pages on past it."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cw_support import ConnectorFactory, hand_world, simulator_for

from connectors.connectwise import ConnectWiseConnector
from connectors.connectwise.normalize import (
    normalize_agreement,
    normalize_member,
    normalize_survey_result,
    normalize_ticket,
    normalize_time_entry,
)
from connectors.connectwise.simulator import SimulatorFaults
from connectors.sandbox.world import build_world
from connectors.sdk import FactOrDeletion, RecordRejected

UTC_ZONE = ZoneInfo("UTC")


async def normalised(
    connector: ConnectWiseConnector, stream: str
) -> tuple[dict[str, FactOrDeletion], list[tuple[Any, str, str]]]:
    facts: dict[str, FactOrDeletion] = {}
    rejected: list[tuple[Any, str, str]] = []
    async for page in connector.read(stream, None):
        for record in page.records:
            try:
                for fact in connector.normalize(stream, record):
                    facts[fact.external_id] = fact
            except RecordRejected as rejection:
                rejected.append((record.get("id"), rejection.field, rejection.reason))
    await connector.aclose()
    return facts, rejected


def broken(collection: str, records: dict[int, dict[str, Any]]) -> SimulatorFaults:
    return SimulatorFaults(broken_records={collection: records})


@pytest.mark.anyio
async def test_tickets_without_their_dates_are_rejected_and_the_rest_stored(
    connector_for: ConnectorFactory,
) -> None:
    faults = broken(
        "/service/tickets",
        {2: {"_info": None}, 3: {"_info": {"lastUpdated": "2025-10-10T09:00:00Z"}}},
    )
    facts, rejected = await normalised(
        connector_for(simulator_for(hand_world(), fail=faults)), "tickets"
    )
    assert rejected == [
        (2, "_info", "missing, so the ticket's dates are unknown"),
        (3, "_info/dateEntered", "missing"),
    ]
    assert set(facts) == {"1", "4", "5", "6"}


@pytest.mark.anyio
async def test_time_entries_without_a_start_or_with_hours_that_are_no_number(
    connector_for: ConnectorFactory,
) -> None:
    faults = broken(
        "/time/entries",
        {1: {"timeStart": None}, 2: {"actualHours": "abc"}, 3: {"actualHours": None}},
    )
    facts, rejected = await normalised(
        connector_for(simulator_for(hand_world(), fail=faults)), "time_entries"
    )
    assert rejected == [
        (1, "timeStart", "missing"),
        (2, "actualHours", "not a number: 'abc'"),
        (3, "actualHours", "missing"),
    ]
    assert facts == {}


@pytest.mark.anyio
async def test_a_record_without_an_id_is_passed_on_and_paging_goes_on(
    connector_for: ConnectorFactory,
) -> None:
    world = build_world(seed=4, tickets=100)
    live = sorted(t.id for t in world.tickets if not t.deleted)
    faults = broken("/service/tickets", {live[24]: {"id": None}, live[40]: {"id": "x-1"}})
    for forward_only in (True, False):
        simulator = simulator_for(world, fail=faults)
        connector = connector_for(
            simulator, concurrency=1, page_size=25, forward_only_paging=forward_only
        )
        facts, rejected = await normalised(connector, "tickets")
        assert (None, "id", "missing") in rejected
        assert ("x-1", "id", "not an id: 'x-1'") in rejected
        counted = {str(t.id) for t in world.tickets if not t.deleted and t.merged_into is None}
        assert set(facts) == counted - {str(live[24]), str(live[40])}


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        (
            {"id": 1, "_info": {"dateEntered": "soon"}},
            "_info/dateEntered",
            "not a date and time: 'soon'",
        ),
        (
            {"id": 1, "_info": {"dateEntered": "2025-01-02T03:04:05Z"}, "closedFlag": True,
             "closedDate": "31/12/2025"},
            "closedDate",
            "not a date and time: '31/12/2025'",
        ),
        (
            {"id": 1, "_info": {"dateEntered": "2025-01-02T03:04:05Z"}, "respondMinutes": "n/a"},
            "respondMinutes",
            "not a number: 'n/a'",
        ),
        ({"_info": {"dateEntered": "2025-01-02T03:04:05Z"}}, "id", "missing"),
    ],
)  # fmt: skip
def test_ticket_fields_that_would_be_lost_are_rejected(
    record: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(RecordRejected) as raised:
        normalize_ticket(record)
    assert (raised.value.field, raised.value.reason) == (field, reason)


def test_a_billable_entry_without_billed_hours_is_rejected() -> None:
    record = {
        "id": 5,
        "timeStart": "2025-03-04T10:00:00Z",
        "actualHours": 1.5,
        "billableOption": "Billable",
    }
    with pytest.raises(RecordRejected, match=r"hoursBilled \(billable entry\): missing"):
        normalize_time_entry(record, UTC_ZONE)
    (fact,) = normalize_time_entry(record | {"hoursBilled": "1.25"}, UTC_ZONE)
    assert fact.billable_hours == 1.25  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": 1}, "startDate"),
        ({"id": 1, "startDate": "2025-01-01T00:00:00Z", "billAmount": "lots"}, "billAmount"),
        ({"id": 1, "startDate": "2025-01-01T00:00:00Z", "dateCancelled": "never"}, "dateCancelled"),
        (
            {"id": 1, "startDate": "2025-01-01T00:00:00Z",
             "_northstar": {"billingOptions": "Monthly",
                            "additions": [{"id": 9, "quantity": 2, "unitPrice": "ten"}]}},
            "additions/9/unitPrice",
        ),
    ],
)  # fmt: skip
def test_agreement_money_and_dates_must_be_readable(record: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordRejected) as raised:
        normalize_agreement(record)
    assert raised.value.field == field


def test_survey_results_and_members_are_checked_too() -> None:
    with pytest.raises(RecordRejected, match="totalPoints: missing"):
        normalize_survey_result({"id": 1, "_info": {"dateEntered": "2025-01-02T03:04:05Z"}})
    with pytest.raises(RecordRejected, match=r"_info/dateEntered: missing"):
        normalize_survey_result({"id": 1, "totalPoints": 3})
    with pytest.raises(RecordRejected, match="dailyCapacity: not a number"):
        normalize_member({"id": 1, "dailyCapacity": "full time"})
    # A survey whose questions score nothing is no satisfaction measure: not an error.
    unscored = {"id": 1, "totalPoints": 0, "_info": {"dateEntered": "2025-01-02T03:04:05Z"}}
    assert normalize_survey_result(unscored | {"_northstar": {"maxPoints": None}}) == []
