"""The docs/goals.md §4 example plan seeds over the hand-made KPI world and reads back."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.goals.examples import TOP_TITLE, seed_example_plan


def seed(api: Any) -> int | None:
    with api.setup.context.db.session() as session:
        return seed_example_plan(session, start=date(2025, 1, 1), today=date(2025, 4, 15))


def test_the_example_plan_nests_three_horizons(world_plan: Any) -> None:
    assert seed(world_plan.api) is not None
    assert seed(world_plan.api) is None  # seeding again changes nothing

    (top,) = world_plan.get("/alignment", as_of="2025-04-01")["objectives"]

    assert (top["title"], top["horizon"]) == (TOP_TITLE, "3 years")
    trust, service_line, succession = top["objectives"]
    (team,) = trust["objectives"]
    assert team["title"] == "My team feels more confident and less reactive"
    assert [g["kpi"]["key"] for g in team["goals"]] == ["team_confidence", "sla_response_pct"]
    (run_rate,) = service_line["objectives"]
    statuses = [
        goal["status"]
        for objective in (top, trust, team, service_line, run_rate, succession)
        for goal in objective["goals"]
    ]
    assert len(statuses) == 9
    assert run_rate["goals"][0]["target"] == 1_000_000
    assert sum(status != "no_data" for status in statuses) >= 5


def test_the_pulse_goal_reads_its_seeded_readings(world_plan: Any) -> None:
    seed(world_plan.api)
    (top,) = world_plan.get("/alignment", as_of="2025-04-01")["objectives"]
    pulse = top["objectives"][0]["objectives"][0]["goals"][0]

    # A reading a month from December (5) to March (7), in a straight line: 5, 5.7, 6.3, 7.
    assert (pulse["baseline"], pulse["current_value"]) == (5.0, 7.0)
    assert pulse["progress"] == pytest.approx(2 / 3, abs=1e-6)  # (7 − 5) ÷ (8 − 5)
    assert pulse["milestones"][0]["target"] == 6.5
    assert [p["value"] for p in pulse["series"][-5:-1]] == [5.0, 5.7, 6.3, 7.0]
    # April, in progress on 1 April, has no reading yet and is marked so.
    assert (pulse["series"][-1]["value"], pulse["series"][-1]["partial"]) == (None, True)
