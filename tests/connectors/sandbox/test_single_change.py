"""single_change: one change to the world moves exactly the KPI value its plan names."""

from __future__ import annotations

from datetime import UTC, date, datetime
from random import Random

import pytest

from connectors.sandbox.model import SandboxWorld
from connectors.sandbox.single_change import KINDS, NoCandidate, apply_change, plan_change
from connectors.sandbox.world import build_world

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def _truth(world: SandboxWorld, kpi: str, client: int, day: date) -> float:
    """The planned KPI's measure for one client and day, from the world (docs/kpis.md)."""
    tickets = [
        t
        for t in world.tickets
        if t.client_id == client and not t.deleted and t.merged_into is None
    ]

    def on(moment: datetime | None) -> bool:
        return moment is not None and moment.date() == day

    if kpi == "tickets_closed":
        return sum(1 for t in tickets if on(t.closed_at))
    if kpi == "tickets_created":
        return sum(1 for t in tickets if on(t.created_at))
    if kpi == "avg_response_hours":
        return sum(1 for t in tickets if on(t.first_response_at))
    if kpi == "avg_resolution_hours":
        return sum(1 for t in tickets if on(t.resolved_at))
    assert kpi == "hours_logged"
    return sum(
        e.hours
        for e in world.time_entries
        if e.client_id == client and not e.deleted and e.work_date == day
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_moves_the_planned_value_by_its_delta(kind: str) -> None:
    world = build_world(tickets=600)
    plan = plan_change(world, kind, Random(3))
    day = plan.day or AT.date()
    before = _truth(world, plan.kpi, plan.client_id, day)
    others = {
        c.id: _truth(world, plan.kpi, c.id, day) for c in world.clients if c.id != plan.client_id
    }

    summary = apply_change(world, plan, AT)

    assert _truth(world, plan.kpi, plan.client_id, day) == pytest.approx(before + plan.delta)
    assert {c: _truth(world, plan.kpi, c, day) for c in others} == others
    changed = summary.tickets_updated + summary.tickets_added
    stamped = [t.id for t in world.tickets if t.updated_at == AT]
    stamped_entries = [e.id for e in world.time_entries if e.updated_at == AT]
    assert sorted(stamped) == sorted(changed)
    assert stamped_entries == list(summary.time_entries_added)
    assert world.generated_at == AT


def test_avoided_clients_are_not_picked() -> None:
    world = build_world(tickets=600)
    avoid = {c.id for c in world.clients[: len(world.clients) // 2]}
    for seed in range(20):
        assert plan_change(world, "close", Random(seed), avoid).client_id not in avoid


def test_a_plan_overtaken_by_another_change_is_refused() -> None:
    world = build_world(tickets=600)
    plan = plan_change(world, "close", Random(5))
    apply_change(world, plan, AT)
    with pytest.raises(NoCandidate):
        apply_change(world, plan, AT)
