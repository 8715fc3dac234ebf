"""build_world and mutate_world: determinism, sizes, and the invariants simulators rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from connectors.sandbox.business_hours import business_minutes_between, to_ts
from connectors.sandbox.generate_time import capacity_hours
from connectors.sandbox.model import SandboxWorld, TicketState, TimeKind
from connectors.sandbox.world import build_world, mutate_world

START, END = date(2025, 1, 1), date(2026, 1, 1)
GENERATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    """The default world, shared read-only by the tests of this module."""
    return build_world()


def _sla_violations(world: SandboxWorld) -> list[int]:
    """Ticket ids whose met flags disagree with their SLA target and elapsed minutes."""
    slas = {sla.id: sla for sla in world.slas}
    wrong = []
    for t in world.tickets:
        if t.sla_id is None:
            expected: tuple[bool | None, bool | None] = (None, None)
        else:
            target = slas[t.sla_id].target_for(t.priority_level)
            expected = (
                None
                if target.response_hours is None or t.respond_minutes is None
                else t.respond_minutes <= target.response_hours * 60,
                None
                if target.resolution_hours is None or t.resolve_minutes is None
                else t.resolve_minutes <= target.resolution_hours * 60,
            )
        if (t.response_met, t.resolution_met) != expected:
            wrong.append(t.id)
    return wrong


def _timeline_violations(world: SandboxWorld) -> list[int]:
    """Ticket ids breaking created ≤ first response ≤ resolved ≤ closed, or closed-state rules."""
    wrong = []
    for t in world.tickets:
        stamps = [s for s in (t.created_at, t.first_response_at, t.resolved_at, t.closed_at) if s]
        ordered = stamps == sorted(stamps)
        closed_rule = (t.closed_at is not None) == (t.state is TicketState.CLOSED)
        resolved_rule = (t.resolved_at is not None) == (
            t.state in (TicketState.RESOLVED, TicketState.CLOSED)
        )
        minutes_rule = (t.respond_minutes is None) == (t.first_response_at is None) and (
            t.resolve_minutes is None
        ) == (t.resolved_at is None)
        if not (ordered and closed_rule and resolved_rule and minutes_rule):
            wrong.append(t.id)
    return wrong


def _stamp_violations(world: SandboxWorld) -> list[str]:
    """Records whose updated_at is after generated_at, or tickets updated before creation."""
    now = world.generated_at
    wrong = [f"ticket {t.id}" for t in world.tickets if not t.created_at <= t.updated_at <= now]
    wrong += [f"entry {e.id}" for e in world.time_entries if not e.updated_at <= now]
    wrong += [f"entry {e.id}" for e in world.time_entries if e.updated_at < e.started_at]
    for kind, records in (
        ("client", world.clients),
        ("technician", world.technicians),
        ("agreement", world.agreements),
        ("survey", world.survey_results),
    ):
        wrong += [f"{kind} {r.id}" for r in records if not r.updated_at <= now]
    return wrong


def _time_entry_violations(world: SandboxWorld) -> list[int]:
    """Entry ids with the wrong shape for their kind, off-grid hours, or a date mismatch."""
    tickets = {t.id: t for t in world.tickets}
    wrong = []
    for e in world.time_entries:
        if e.kind is TimeKind.TICKET:
            ticket = tickets.get(e.ticket_id) if e.ticket_id is not None else None
            shape = (
                ticket is not None
                and e.client_id == ticket.client_id
                and e.work_date >= ticket.created_at.date()
            )
        elif e.kind is TimeKind.PROJECT:
            shape = e.ticket_id is None and e.client_id is not None
        else:
            shape = e.ticket_id is None and e.client_id is None and e.billable_hours == 0
        on_grid = e.hours > 0 and (e.hours * 4).is_integer()
        billable = e.billable_hours in (0.0, e.hours)
        dated = e.started_at.astimezone(UTC).date() == e.work_date
        if not (shape and on_grid and billable and dated):
            wrong.append(e.id)
    return wrong


def test_same_seed_builds_equal_worlds() -> None:
    assert build_world(seed=3, tickets=400) == build_world(seed=3, tickets=400)


def test_different_seeds_build_different_tickets() -> None:
    first = build_world(seed=1, tickets=400).tickets
    second = build_world(seed=2, tickets=400).tickets
    assert [t.created_at for t in first] != [t.created_at for t in second]


def test_default_sizes(world: SandboxWorld) -> None:
    sizes = (len(world.clients), len(world.technicians), len(world.tickets))
    assert sizes == (41, 12, 3000)
    assert len(world.time_entries) == 9000


def test_sizes_scale_with_tickets_and_ratio() -> None:
    small = build_world(tickets=600, time_entries_per_ticket=2.5)
    assert (len(small.clients), len(small.technicians)) == (9, 12)
    assert (len(small.tickets), len(small.time_entries)) == (600, 1500)


def test_explicit_client_and_technician_counts() -> None:
    small = build_world(tickets=300, clients=5, technicians=6)
    assert (len(small.clients), len(small.technicians)) == (6, 6)


def test_generated_at_is_end_midnight_utc(world: SandboxWorld) -> None:
    assert world.generated_at == GENERATED_AT


def test_ids_are_unique_and_sequential(world: SandboxWorld) -> None:
    for records in (world.tickets, world.time_entries, world.agreements, world.survey_results):
        assert [r.id for r in records] == list(range(1, len(records) + 1))
    line_ids = [line.id for a in world.agreements for line in a.lines]
    assert sorted(line_ids) == list(range(1, len(line_ids) + 1))


def test_msp_itself_is_one_active_client(world: SandboxWorld) -> None:
    assert [c.id for c in world.clients if c.is_msp_itself] == [1]


def test_tickets_never_belong_to_the_msp_itself(world: SandboxWorld) -> None:
    assert [t.id for t in world.tickets if t.client_id == 1] == []


def test_technician_cast(world: SandboxWorld) -> None:
    techs = world.technicians
    assert [t.id for t in techs if t.is_api_user] == [12]
    assert [t.id for t in techs if not t.included_in_utilization] == [11, 12]
    assert [t.id for t in techs if not t.active] == [6, 10]
    assert sum(t.capacity_hours is None for t in techs) == 5


def test_every_state_occurs(world: SandboxWorld) -> None:
    assert {t.state for t in world.tickets} == set(TicketState)


def test_created_times_lie_in_the_period(world: SandboxWorld) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert [t.id for t in world.tickets if not start <= t.created_at < GENERATED_AT] == []


def test_ticket_timelines_are_consistent(world: SandboxWorld) -> None:
    assert _timeline_violations(world) == []


def test_met_flags_agree_with_sla_targets(world: SandboxWorld) -> None:
    assert _sla_violations(world) == []


def test_met_flags_cover_both_outcomes(world: SandboxWorld) -> None:
    assert {t.response_met for t in world.tickets} == {True, False, None}
    assert {t.resolution_met for t in world.tickets} == {True, False, None}


def test_minutes_are_business_minutes(world: SandboxWorld) -> None:
    wrong = [
        t.id
        for t in world.tickets
        if t.first_response_at is not None
        and t.respond_minutes
        != business_minutes_between(to_ts(t.created_at), to_ts(t.first_response_at))
    ]
    assert wrong == []


def test_merged_children_point_to_earlier_same_client_tickets(world: SandboxWorld) -> None:
    by_id = {t.id: t for t in world.tickets}
    merged = [(t, t.merged_into) for t in world.tickets if t.merged_into is not None]
    assert len(merged) > 0
    assert [
        t.id
        for t, parent in merged
        if not (parent < t.id and by_id[parent].client_id == t.client_id)
    ] == []


def test_some_tickets_are_deleted(world: SandboxWorld) -> None:
    assert 0 < sum(t.deleted for t in world.tickets) < 30


def test_deleted_tickets_carry_no_time(world: SandboxWorld) -> None:
    deleted = {t.id for t in world.tickets if t.deleted}
    assert [e.id for e in world.time_entries if e.ticket_id in deleted] == []


def test_updated_at_never_after_generation(world: SandboxWorld) -> None:
    assert _stamp_violations(world) == []


def test_time_entries_are_well_formed(world: SandboxWorld) -> None:
    assert _time_entry_violations(world) == []


def test_time_entries_start_in_business_hours(world: SandboxWorld) -> None:
    assert [e.id for e in world.time_entries if not 8 <= e.started_at.hour < 17] == []


def test_every_kind_of_time_occurs(world: SandboxWorld) -> None:
    assert {e.kind for e in world.time_entries} == set(TimeKind)


def test_full_year_technicians_land_in_utilisation_band(world: SandboxWorld) -> None:
    counted: dict[int, float] = {}
    for e in world.time_entries:
        if e.counts_toward_utilization:
            counted[e.technician_id] = counted.get(e.technician_id, 0.0) + e.hours
    first, last = to_ts(datetime(2025, 1, 1, tzinfo=UTC)) // 86400, to_ts(GENERATED_AT) // 86400
    full_year = [1, 2, 3, 4, 5, 7, 8]  # active, measured, working the whole period
    rates = {
        tech.id: counted[tech.id] / capacity_hours(tech, first, last)
        for tech in world.technicians
        if tech.id in full_year
    }
    assert [tech for tech, rate in rates.items() if not 0.6 <= rate <= 0.85] == []


def test_api_user_logs_no_time(world: SandboxWorld) -> None:
    assert [e.id for e in world.time_entries if e.technician_id == 12] == []


def test_surveys_answer_closed_counted_tickets(world: SandboxWorld) -> None:
    by_id = {t.id: t for t in world.tickets}
    wrong = [
        r.id
        for r in world.survey_results
        if by_id[r.ticket_id].state is not TicketState.CLOSED
        or (r.rating is None) != (r.completed_at is None)
    ]
    assert wrong == []


def test_survey_share_and_unanswered(world: SandboxWorld) -> None:
    closed = sum(t.state is TicketState.CLOSED for t in world.tickets)
    unanswered = sum(r.rating is None for r in world.survey_results)
    assert 0.12 <= len(world.survey_results) / closed <= 0.18
    assert 0 < unanswered < len(world.survey_results) // 5


def test_agreement_lines_start_with_base_fee(world: SandboxWorld) -> None:
    wrong = [
        a.id
        for a in world.agreements
        if a.lines[0].starts_on != a.starts_on
        or a.lines[0].ends_on is not None
        or any(line.starts_on < a.starts_on for line in a.lines)
    ]
    assert wrong == []


def test_agreement_prices_have_two_places(world: SandboxWorld) -> None:
    exponents = {line.unit_price.as_tuple().exponent for a in world.agreements for line in a.lines}
    assert exponents == {-2}


def test_some_agreements_stop_during_the_period(world: SandboxWorld) -> None:
    in_period = [
        a.id
        for a in world.agreements
        if (a.cancelled_on is not None and START < a.cancelled_on < END)
        or (a.ends_on is not None and START <= a.ends_on < END)
    ]
    assert len(in_period) >= 2


def test_mutation_is_deterministic() -> None:
    first, second = build_world(tickets=500), build_world(tickets=500)
    assert mutate_world(first, seed=4) == mutate_world(second, seed=4)
    assert first == second


def test_mutation_advances_generated_at() -> None:
    world = build_world(tickets=500)
    summary = mutate_world(world, seed=1)
    assert summary.at == GENERATED_AT + timedelta(hours=1)
    assert world.generated_at == summary.at


def test_mutation_rejects_going_back() -> None:
    world = build_world(tickets=100)
    with pytest.raises(ValueError):
        mutate_world(world, seed=1, at=GENERATED_AT - timedelta(seconds=1))


def test_mutation_updates_the_fraction_of_live_tickets() -> None:
    world = build_world(tickets=1000)
    live = sum(not t.deleted and t.merged_into is None for t in world.tickets)
    summary = mutate_world(world, seed=2, fraction=0.05)
    assert len(summary.tickets_updated) == round(0.05 * live)


def test_mutation_summary_lists_exactly_the_touched_tickets() -> None:
    world = build_world(tickets=1000)
    summary = mutate_world(world, seed=2, fraction=0.05)
    touched = {t.id for t in world.tickets if t.updated_at == summary.at}
    assert touched == summary.tickets_changed
    assert len(touched) == sum(
        map(
            len,
            (
                summary.tickets_updated,
                summary.tickets_added,
                summary.tickets_deleted,
                summary.tickets_merged,
            ),
        )
    )


def test_mutation_adds_records_above_previous_ids() -> None:
    world = build_world(tickets=1000)
    summary = mutate_world(world, seed=5)
    assert summary.tickets_added == tuple(range(1001, 1001 + len(summary.tickets_added)))
    added_entries = summary.time_entries_added
    assert added_entries == tuple(range(3001, 3001 + len(added_entries)))
    assert [t.id for t in world.tickets[1000:]] == list(summary.tickets_added)


def test_mutation_flags_deletions_and_merge() -> None:
    world = build_world(tickets=1000)
    summary = mutate_world(world, seed=6)
    tickets = {t.id: t for t in world.tickets}
    entries = {e.id: e for e in world.time_entries}
    assert len(summary.tickets_deleted) == 2
    assert all(tickets[i].deleted for i in summary.tickets_deleted)
    assert len(summary.time_entries_deleted) == 3
    assert all(
        entries[i].deleted and entries[i].updated_at == summary.at
        for i in summary.time_entries_deleted
    )
    (child,) = summary.tickets_merged
    assert tickets[child].merged_into is not None and tickets[child].state is TicketState.CLOSED


def test_mutation_cancels_one_agreement_next_month() -> None:
    world = build_world(tickets=1000)
    summary = mutate_world(world, seed=7, at=datetime(2026, 1, 20, 9, tzinfo=UTC))
    (agreement_id,) = summary.agreements_cancelled
    agreement = next(a for a in world.agreements if a.id == agreement_id)
    assert (agreement.cancelled_on, agreement.updated_at) == (date(2026, 2, 1), summary.at)


def test_mutation_keeps_invariants() -> None:
    world = build_world(tickets=1000)
    mutate_world(world, seed=8, fraction=0.2)
    violations = (
        _timeline_violations(world),
        _sla_violations(world),
        _stamp_violations(world),
        _time_entry_violations(world),
    )
    assert violations == ([], [], [], [])
