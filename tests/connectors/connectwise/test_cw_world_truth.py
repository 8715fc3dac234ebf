"""A full read of a generated world normalises back to exactly the world's truth."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from cw_support import make_connector, simulator_for

from connectors.sandbox.index import monthly_amount_on
from connectors.sandbox.model import SandboxWorld, TicketState, TimeKind
from connectors.sandbox.world import build_world, mutate_world
from connectors.sdk import (
    ClientFact,
    Cursor,
    Deletion,
    FactOrDeletion,
    FactType,
    RecurringRevenueFact,
    StreamMode,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    return build_world(seed=8, tickets=2000)


@pytest.fixture(scope="module")
def facts(world: SandboxWorld) -> dict[str, dict[str, FactOrDeletion]]:
    import asyncio

    async def read_everything() -> dict[str, dict[str, FactOrDeletion]]:
        connector = make_connector(simulator_for(world), now=world.generated_at)
        by_stream: dict[str, dict[str, FactOrDeletion]] = {}
        for stream in connector.streams:
            found = by_stream.setdefault(stream, {})
            async for page in connector.read(stream, None):
                for record in page.records:
                    for fact in connector.normalize(stream, record):
                        assert fact.external_id not in found, "each record is read once"
                        found[fact.external_id] = fact
        await connector.aclose()
        return by_stream

    return asyncio.run(read_everything())


def level_of(world: SandboxWorld, level: int) -> int:
    ranked = sorted(world.priorities, key=lambda p: p.sort_order)
    return min(4, 1 + [p.level for p in ranked].index(level))


def test_tickets(world: SandboxWorld, facts: dict[str, dict[str, FactOrDeletion]]) -> None:
    tickets = facts["tickets"]
    assert set(tickets) == {str(t.id) for t in world.tickets if not t.deleted}
    for truth in world.tickets:
        if truth.deleted:
            continue
        fact = tickets[str(truth.id)]
        if truth.merged_into is not None:
            assert isinstance(fact, Deletion)
            continue
        assert isinstance(fact, TicketFact)
        closed = truth.state is TicketState.CLOSED
        assert (fact.response_met, fact.resolution_met) == (
            truth.response_met,
            truth.resolution_met,
        ), truth
        assert fact.priority_level == level_of(world, truth.priority_level)
        assert (fact.created_at, fact.first_response_at) == (
            truth.created_at,
            truth.first_response_at,
        )
        assert (fact.resolved_at, fact.closed_at, fact.is_closed) == (
            truth.resolved_at,
            truth.closed_at,
            closed,
        )
        assert fact.client_external_id == str(truth.client_id)
        assert fact.assignee_external_id == (
            None if truth.assignee_id is None else str(truth.assignee_id)
        )
        assert (fact.board, fact.title) == (truth.board, truth.title)


def test_time_entries(world: SandboxWorld, facts: dict[str, dict[str, FactOrDeletion]]) -> None:
    entries = facts["time_entries"]
    expected = [e for e in world.time_entries if not e.deleted]
    assert set(entries) == {str(e.id) for e in expected}
    for truth in expected:
        assert entries[str(truth.id)] == TimeEntryFact(
            external_id=str(truth.id),
            technician_external_id=str(truth.technician_id),
            work_date=truth.work_date,
            hours=truth.hours,
            billable_hours=truth.billable_hours,
            counts_toward_utilization=truth.counts_toward_utilization,
            client_external_id=None if truth.client_id is None else str(truth.client_id),
            ticket_external_id=str(truth.ticket_id) if truth.kind is TimeKind.TICKET else None,
            started_at=truth.started_at,
        )


def _amount_on(fact: RecurringRevenueFact, day: date) -> Decimal:
    return sum(
        (
            period.monthly_amount
            for period in fact.amount_schedule
            if period.valid_from <= day and (period.valid_to is None or day < period.valid_to)
        ),
        Decimal(0),
    )


def test_agreement_amounts_on_sample_days(
    world: SandboxWorld, facts: dict[str, dict[str, FactOrDeletion]]
) -> None:
    agreements = facts["agreements"]
    assert set(agreements) == {str(a.id) for a in world.agreements if not a.deleted}
    days = [date(2022, 1, 1) + timedelta(days=step) for step in range(0, 1900, 3)]
    for truth in world.agreements:
        fact = agreements[str(truth.id)]
        assert isinstance(fact, RecurringRevenueFact)
        assert (fact.starts_on, fact.ends_on, fact.cancelled_on) == (
            truth.starts_on,
            truth.ends_on,
            truth.cancelled_on,
        )
        assert fact.client_external_id == str(truth.client_id)
        edges = [truth.starts_on, truth.ends_on, truth.cancelled_on] + [
            day for line in truth.lines for day in (line.starts_on, line.ends_on)
        ]
        probes = days + [
            edge + timedelta(days=shift) for edge in edges if edge for shift in (-1, 0, 1)
        ]
        for day in probes:
            assert _amount_on(fact, day) == monthly_amount_on(truth, day), (truth.id, day)


def test_survey_responses(world: SandboxWorld, facts: dict[str, dict[str, FactOrDeletion]]) -> None:
    answered = [r for r in world.survey_results if r.score is not None]
    responses = facts["survey_results"]
    assert set(responses) == {str(r.id) for r in answered}
    for truth in answered:
        assert truth.completed_at is not None and truth.score is not None
        assert responses[str(truth.id)] == SurveyResponseFact(
            external_id=str(truth.id),
            completed_at=truth.completed_at,
            score=truth.score,
            ticket_external_id=str(truth.ticket_id),
            client_external_id=str(truth.client_id),
        )


def test_technicians_and_clients(
    world: SandboxWorld, facts: dict[str, dict[str, FactOrDeletion]]
) -> None:
    for truth in world.technicians:
        fact = facts["members"][str(truth.id)]
        assert isinstance(fact, TechnicianFact)
        assert (fact.name, fact.email, fact.active) == (truth.name, truth.email, truth.active)
        assert fact.included_in_utilization == (
            truth.included_in_utilization and not truth.is_api_user
        )
        capacity = truth.capacity_hours or (8.0,) * 5 + (0.0, 0.0)
        assert fact.capacity_hours == (capacity[0],) * 5 + (0.0, 0.0)
        assert capacity[:5] == (capacity[0],) * 5, "ConnectWise holds one daily capacity"
    for client in world.clients:
        fact = facts["companies"][str(client.id)]
        if client.deleted:
            assert isinstance(fact, Deletion)
        else:
            assert fact == ClientFact(str(client.id), client.name, client.active)


async def _sync_into(
    store: dict[FactType, dict[str, FactOrDeletion]],
    cursors: dict[str, Cursor],
    world: SandboxWorld,
    now: datetime,
) -> None:
    """What the runner does: upsert facts, apply deletions, sweep what was not seen."""
    connector = make_connector(simulator_for(world), now=now)
    for stream, spec in connector.streams.items():
        seen: set[str] = set()
        async for page in connector.read(stream, cursors.get(stream)):
            cursors[stream] = page.cursor
            seen.update(page.seen_ids)
            for record in page.records:
                for fact in connector.normalize(stream, record):
                    if isinstance(fact, Deletion):
                        store[fact.fact_type].pop(fact.external_id, None)
                    else:
                        store[fact.fact_type][fact.external_id] = fact
        if spec.mode is StreamMode.ID_SWEEP and spec.sweeps is not None:
            for gone in set(store[spec.sweeps]) - seen:
                del store[spec.sweeps][gone]
    await connector.aclose()


@pytest.mark.anyio
async def test_backfill_then_incremental_sync_matches_the_changed_world() -> None:
    world = build_world(seed=9, tickets=1500)
    store: dict[FactType, dict[str, FactOrDeletion]] = {kind: {} for kind in FactType}
    cursors: dict[str, Cursor] = {}
    await _sync_into(store, cursors, world, world.generated_at)
    summary = mutate_world(world, seed=3, fraction=0.05)
    await _sync_into(store, cursors, world, summary.at + timedelta(minutes=1))

    counted = [t for t in world.tickets if not t.deleted and t.merged_into is None]
    tickets = store[FactType.TICKET]
    assert set(tickets) == {str(t.id) for t in counted}
    for truth in counted:
        fact = tickets[str(truth.id)]
        assert isinstance(fact, TicketFact)
        assert (fact.response_met, fact.resolution_met, fact.closed_at, fact.resolved_at) == (
            truth.response_met,
            truth.resolution_met,
            truth.closed_at,
            truth.resolved_at,
        )
        assert fact.assignee_external_id == (
            None if truth.assignee_id is None else str(truth.assignee_id)
        )
        assert fact.priority_level == level_of(world, truth.priority_level)
    entries = store[FactType.TIME_ENTRY]
    assert set(entries) == {str(e.id) for e in world.time_entries if not e.deleted}
    revenue = store[FactType.RECURRING_REVENUE]
    for agreement_id in summary.agreements_cancelled:
        truth_agreement = next(a for a in world.agreements if a.id == agreement_id)
        fact = revenue[str(agreement_id)]
        assert isinstance(fact, RecurringRevenueFact)
        assert fact.cancelled_on == truth_agreement.cancelled_on
        assert truth_agreement.cancelled_on is not None
        for day in (truth_agreement.cancelled_on - timedelta(days=1), truth_agreement.cancelled_on):
            assert _amount_on(fact, day) == monthly_amount_on(truth_agreement, day)
    answered = {str(r.id) for r in world.survey_results if r.score is not None}
    assert set(store[FactType.SURVEY_RESPONSE]) == answered
