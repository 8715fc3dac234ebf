"""Same world, same truth: a full read of a generated world normalises back to exactly the
world's values, and so does an incremental re-sync after the world changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from at_support import connector_for, simulator_for

from connectors.autotask import AutotaskConnector
from connectors.autotask.simulator import AutotaskSimulator
from connectors.sandbox.model import SandboxWorld, TicketState, TimeKind
from connectors.sandbox.world import build_world, monthly_amount_on, mutate_world
from connectors.sdk import (
    Deletion,
    FactType,
    MatchedDeletion,
    RecurringRevenueFact,
    SourceHttpLimits,
    StreamMode,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)
from connectors.sdk.facts import DEFAULT_CAPACITY

pytestmark = pytest.mark.anyio
Store = dict[tuple[FactType, str], Any]


class MiniRunner:
    """What the runner does with pages: upsert facts, apply deletions and sweeps, keep
    each stream's last cursor."""

    def __init__(self, limits: SourceHttpLimits | None = None) -> None:
        self.store: Store = {}
        self.cursors: dict[str, Any] = {}
        self.limits = limits  # shared between syncs: one process; None: a fresh one each time
        self.matched_deletions = self.unmatched_deletions = 0

    async def sync(self, simulator: AutotaskSimulator, world: SandboxWorld) -> None:
        connector = connector_for(simulator, now=world.generated_at, limits=self.limits)
        try:
            for name, spec in connector.streams.items():
                seen: set[str] = set()
                async for page in connector.read(name, self.cursors.get(name)):
                    for record in page.records:
                        for fact in connector.normalize(name, record):
                            if isinstance(fact, MatchedDeletion):
                                self.delete_matching(fact)
                            elif isinstance(fact, Deletion):
                                self.store.pop((fact.fact_type, fact.external_id), None)
                            else:
                                self.store[(fact.fact_type, fact.external_id)] = fact
                    seen.update(page.seen_ids)
                    self.cursors[name] = page.cursor
                if spec.mode is not StreamMode.INCREMENTAL and spec.sweeps is not None:
                    for key in [k for k in self.store if k[0] is spec.sweeps]:
                        if key[1] not in seen:
                            del self.store[key]
        finally:
            await connector.aclose()

    def delete_matching(self, deletion: MatchedDeletion) -> None:
        """The store's rule: delete only when exactly one stored fact matches."""
        found = [
            key
            for key, fact in self.store.items()
            if key[0] is deletion.fact_type
            and all(getattr(fact, field) == value for field, value in deletion.match)
        ]
        if len(found) == 1:
            del self.store[found[0]]
            self.matched_deletions += 1
        else:
            self.unmatched_deletions += 1

    def of(self, fact_type: FactType) -> dict[str, Any]:
        return {key[1]: fact for key, fact in self.store.items() if key[0] is fact_type}


def expected_tickets(world: SandboxWorld) -> dict[str, tuple[Any, ...]]:
    return {
        str(t.id): (
            t.number,
            t.title,
            str(t.client_id),
            t.board,
            t.state is TicketState.CLOSED,
            min(t.priority_level, 4),
            None if t.assignee_id is None else str(t.assignee_id),
            t.created_at,
            t.first_response_at,
            t.resolved_at or t.closed_at,
            t.closed_at if t.state is TicketState.CLOSED else None,
            t.response_met,
            t.resolution_met,
            t.updated_at,
        )
        for t in world.tickets
        if not t.deleted and t.merged_into is None
    }


def ticket_values(fact: TicketFact) -> tuple[Any, ...]:
    return (
        fact.number,
        fact.title,
        fact.client_external_id,
        fact.board,
        fact.is_closed,
        fact.priority_level,
        fact.assignee_external_id,
        fact.created_at,
        fact.first_response_at,
        fact.resolved_at,
        fact.closed_at,
        fact.response_met,
        fact.resolution_met,
        fact.updated_at,
    )


def expected_time(world: SandboxWorld) -> dict[str, TimeEntryFact]:
    return {
        str(e.id): TimeEntryFact(
            external_id=str(e.id),
            technician_external_id=str(e.technician_id),
            work_date=e.work_date,
            hours=e.hours,
            billable_hours=e.billable_hours,
            counts_toward_utilization=e.counts_toward_utilization,
            client_external_id=None if e.client_id is None else str(e.client_id),
            ticket_external_id=str(e.ticket_id) if e.kind is TimeKind.TICKET else None,
            started_at=e.started_at,
        )
        for e in world.time_entries
        if not e.deleted
    }


def expected_technicians(world: SandboxWorld) -> dict[str, TechnicianFact]:
    return {
        str(t.id): TechnicianFact(
            external_id=str(t.id),
            name=t.name,
            email=t.email,
            active=t.active,
            included_in_utilization=t.included_in_utilization,
            capacity_hours=t.capacity_hours or DEFAULT_CAPACITY,
        )
        for t in world.technicians
    }


def expected_surveys(world: SandboxWorld) -> dict[str, SurveyResponseFact]:
    live = {t.id: t for t in world.tickets if not t.deleted and t.merged_into is None}
    result = {}
    for s in world.survey_results:
        if s.completed_at is None or s.score is None:
            continue
        ticket = live.get(s.ticket_id)
        assignee = None if ticket is None or ticket.assignee_id is None else ticket.assignee_id
        result[str(s.id)] = SurveyResponseFact(
            str(s.id),
            s.completed_at,
            s.score,
            str(s.ticket_id),
            str(s.client_id),
            None if assignee is None else str(assignee),
        )
    return result


def attributed_surveys(runner: MiniRunner) -> dict[str, SurveyResponseFact]:
    """The survey facts with the technician the KPI rollup gives them: their ticket's
    current assignee when the ticket is known (a reassignment does not re-send surveys)."""
    tickets = runner.of(FactType.TICKET)
    return {
        key: dataclasses.replace(
            survey, technician_external_id=tickets[survey.ticket_external_id].assignee_external_id
        )
        if survey.ticket_external_id in tickets
        else survey
        for key, survey in runner.of(FactType.SURVEY_RESPONSE).items()
    }


def amount_on(fact: RecurringRevenueFact, day: date) -> Decimal:
    for period in fact.amount_schedule:
        if period.valid_from <= day and (period.valid_to is None or day < period.valid_to):
            return period.monthly_amount
    return Decimal(0)


def days(first: date, last: date) -> Iterator[date]:
    while first <= last:
        yield first
        first += timedelta(days=1)


def assert_matches_world(
    runner: MiniRunner, world: SandboxWorld, *, surveys_as_attributed: bool = False
) -> None:
    """`surveys_as_attributed`: compare surveys with the technician the KPI rollup gives
    them (after changes, a reassigned ticket's surveys are not read again)."""
    tickets = runner.of(FactType.TICKET)
    assert {k: ticket_values(f) for k, f in tickets.items()} == expected_tickets(world)
    assert runner.of(FactType.TIME_ENTRY) == expected_time(world)
    assert runner.of(FactType.TECHNICIAN) == expected_technicians(world)
    surveys = (
        attributed_surveys(runner) if surveys_as_attributed else runner.of(FactType.SURVEY_RESPONSE)
    )
    assert surveys == expected_surveys(world)
    clients = runner.of(FactType.CLIENT)
    assert {k: (c.name, c.active) for k, c in clients.items()} == {
        str(c.id): (c.name, c.active) for c in world.clients if not c.deleted
    }
    contracts = runner.of(FactType.RECURRING_REVENUE)
    live_agreements = [a for a in world.agreements if not a.deleted]
    assert set(contracts) == {str(a.id) for a in live_agreements}
    horizon = world.generated_at.date() + timedelta(days=62)
    for agreement in live_agreements:
        fact = contracts[str(agreement.id)]
        assert (fact.name, fact.starts_on, fact.client_external_id) == (
            agreement.name,
            agreement.starts_on,
            str(agreement.client_id),
        )
        for day in [*days(date(2024, 12, 1), horizon), date(2031, 5, 31), date(2089, 12, 31)]:
            assert amount_on(fact, day) == monthly_amount_on(agreement, day), (agreement.id, day)
        # Autotask has no cancellation date: a cancelled contract ends the day before.
        ends = [agreement.ends_on]
        if agreement.cancelled_on is not None:
            ends.append(agreement.cancelled_on - timedelta(days=1))
        assert fact.ends_on == min((d for d in ends if d is not None), default=None)
        if fact.ends_on is None and any(line.ends_on is None for line in agreement.lines):
            assert fact.amount_schedule[-1].valid_to is None  # open-ended, like the world


@pytest.fixture(scope="module")
def generated_world() -> SandboxWorld:
    return build_world(seed=11, tickets=1500)


async def test_full_read_of_a_generated_world_is_the_worlds_truth(
    generated_world: SandboxWorld,
) -> None:
    runner = MiniRunner()
    await runner.sync(simulator_for(generated_world), generated_world)
    assert_matches_world(runner, generated_world)


@pytest.mark.parametrize("one_process", [True, False])
async def test_incremental_resync_after_changes_is_the_worlds_truth(one_process: bool) -> None:
    world = build_world(seed=5, tickets=1200)
    simulator = simulator_for(world)
    shared = AutotaskConnector.http_limits(simulator.connector_config()) if one_process else None
    runner = MiniRunner(shared)
    await runner.sync(simulator, world)
    summary = mutate_world(world, seed=1, fraction=0.05)
    assert summary.tickets_updated and summary.tickets_merged and summary.time_entries_deleted
    deleted_by_hand = next(t for t in world.tickets if not t.deleted and t.merged_into is None)
    deleted_by_hand.deleted, deleted_by_hand.updated_at = True, summary.at
    before = simulator.stats.requests["Tickets"]
    await runner.sync(simulator, world)
    assert_matches_world(runner, world, surveys_as_attributed=True)
    # Logged deletions were matched to their entries (the sweep only finds the rest).
    gone = set(summary.time_entries_deleted)
    logged = [e for e in world.time_entries if e.id in gone and e.kind is not TimeKind.INTERNAL]
    assert logged and runner.matched_deletions >= 0.9 * len(logged)
    # the re-sync read the changed tickets, not all of them again
    changed_pages = simulator.stats.requests["Tickets"] - before
    assert changed_pages < 1200 / 500 * 3
    assert (FactType.TICKET, str(deleted_by_hand.id)) not in runner.store
