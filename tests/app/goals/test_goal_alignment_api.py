"""Alignment through the API over the hand-made KPI world (tests/kpi_world.py), with values
worked out by hand.

The world, monthly in New York time: MRR 1,500 in January (Acme 1,000 + Globex 500), 1,000 in
February and March (Globex cancelled on 15 February), 1,000 on 31 December 2024. SLA response
on the Service board: 100 % in January, 50 % in February (T2 missed, T4 met), none in March.
"""

from __future__ import annotations

from typing import Any

import pytest

GOAL_DAYS = 181  # 1 January to 1 July 2025


@pytest.fixture
def world(world_plan: Any) -> dict[str, Any]:
    grow = world_plan.objective(
        "Reach a recurring run rate that funds the team", purpose="Owners sleep", owner="Sam"
    )
    trust = world_plan.objective("Clients trust us", parent_id=grow["id"], weight=1)
    mrr = world_plan.goal(grow["id"], title="MRR to 2,000", kpi="mrr", kind="increase", target=2000)
    sla = world_plan.goal(
        trust["id"],
        title="Answer in time",
        kpi="sla_response_pct",
        scope={"board": "Service"},
        kind="stay_above",
        target=95,
    )
    return {"grow": grow, "trust": trust, "mrr": mrr, "sla": sla, "plan": world_plan}


def test_the_baseline_is_computed_from_the_month_before_the_start_and_kept(world: Any) -> None:
    mrr = world["mrr"]

    assert (mrr["baseline"], mrr["baseline_computed"]) == (1000.0, True)
    assert world["plan"].get(f"/goals/{mrr['id']}")["baseline"] == 1000.0


def test_mrr_goal_as_of_1_april_by_hand(world: Any) -> None:
    got = world["plan"].get(f"/goals/{world['mrr']['id']}/alignment", as_of="2025-04-01")

    # On 1 April the last complete month is March.
    assert got["window"] == {
        "start": "2025-03-01",
        "end": "2025-04-01",
        "complete": True,
        "partial": False,
        "rule": "The last complete, covered month on or before as_of.",
    }
    assert got["current_value"] == 1000.0
    assert (got["progress_raw"], got["progress"]) == (0.0, 0.0)  # (1000 − 1000) ÷ 1000
    # Expected on 31 March, the last day of the month judged: 89 days after 1 January.
    assert got["expected_progress"] == pytest.approx(89 / GOAL_DAYS, abs=1e-6)
    assert got["status"] == "off_track"
    assert got["reason"].startswith("March 2025 was $1,000: 0 % of the way from $1,000")
    # Three months of history (31 Jan to 31 Mar: 59 days) cannot say where MRR will be 92
    # days later, on 1 July: too early. A forecast comes once the span reaches half the way
    # from 31 January to 1 July (151 days, so 76: 17 April), once that month is complete.
    assert got["forecast"] is None
    assert got["forecast_available_from"] == "2025-05-01"
    assert got["forecast_note"].startswith("Too early to forecast")
    # Each point of the series says how far it can be read: 1 April is the first day of a
    # month in progress, and the world's history starts in December 2024.
    assert [(p["period_start"], p["value"], p["partial"]) for p in got["series"][-4:]] == [
        ("2025-01-01", 1500.0, False),
        ("2025-02-01", 1000.0, False),
        ("2025-03-01", 1000.0, False),
        ("2025-04-01", 1000.0, True),
    ]
    assert len(got["series"]) == 12


def test_sla_goal_held_in_january_and_missed_in_february(world: Any) -> None:
    url = f"/goals/{world['sla']['id']}/alignment"

    january = world["plan"].get(url, as_of="2025-02-15")
    february = world["plan"].get(url, as_of="2025-03-01")

    # Held, and before the due date: on track (achieved is for the due date).
    assert (january["current_value"], january["status"]) == (100.0, "on_track")
    assert january["progress"] is None and january["expected_progress"] is None
    assert january["record"]["held"] == 1 and january["record"]["judged"] == 1
    assert february["current_value"] == 50.0
    assert february["record"] == {
        "held": 1,
        "judged": 2,
        "streak": 1,
        "streak_held": False,
        "margin": -45.0,
        "words": "Held in 1 of the 2 complete months since January 2025.",
    }
    # 1 of 2 tickets met: the 90 % Wilson interval (about 9.4 % to 90.6 %) does not reach
    # 95 %, so the month is off track even on two tickets, and the sentence says so.
    assert february["status"] == "off_track"
    assert february["evidence"]["sample_size"] == 2
    assert february["evidence"]["small_sample"] is True
    assert february["evidence"]["thin"] is False
    assert february["reason"].startswith(
        "February 2025 was 50.0 %, on only 2 tickets, a small sample, 45.0 points under"
    )


def test_a_goal_that_opts_in_is_judged_on_the_month_so_far(world: Any) -> None:
    plan = world["plan"]
    response = plan.api.client.patch(
        f"/api/v1/goals/{world['sla']['id']}", headers=plan.api.admin, json={"judge_partial": True}
    )
    assert response.status_code == 200, response.text

    got = plan.get(f"/goals/{world['sla']['id']}/alignment", as_of="2025-02-15")

    assert got["window"]["start"] == "2025-02-01"
    assert (got["window"]["complete"], got["window"]["partial"]) == (False, True)
    assert (got["current_value"], got["status"]) == (50.0, "off_track")


def test_by_default_the_month_in_progress_is_shown_but_not_judged(world: Any) -> None:
    got = world["plan"].get(f"/goals/{world['sla']['id']}/alignment", as_of="2025-02-15")

    assert got["window"]["start"] == "2025-01-01"
    assert (got["current_value"], got["status"]) == (100.0, "on_track")
    february = got["series"][-1]
    assert (february["period_start"], february["value"], february["partial"]) == (
        "2025-02-01",
        50.0,
        True,
    )


def test_fewer_than_three_months_give_no_forecast_and_say_why(world: Any) -> None:
    # Mid-February only January is complete; with the baseline month (December) that is
    # two values.
    got = world["plan"].get(f"/goals/{world['mrr']['id']}/alignment", as_of="2025-02-15")

    assert got["forecast"] is None
    assert got["forecast_available_from"] is None
    assert "at least 3 complete months" in got["forecast_note"]


def test_milestones_hit_missed_pending_and_the_path_between_them(world: Any) -> None:
    plan, goal_id = world["plan"], world["mrr"]["id"]
    plan.milestone(goal_id, "2025-01-31", 1200)  # January: 1,500 → hit
    plan.milestone(goal_id, "2025-02-28", 1500)  # February: 1,000 → missed
    plan.milestone(goal_id, "2025-06-30", 1800)

    got = plan.get(f"/goals/{goal_id}/alignment", as_of="2025-04-01")

    assert [(m["due_date"], m["status"], m["value"]) for m in got["milestones"]] == [
        ("2025-01-31", "hit", 1500.0),
        ("2025-02-28", "missed", 1000.0),
        ("2025-06-30", "pending", None),
    ]
    assert got["next_milestone"]["due_date"] == "2025-06-30"
    # Milestone progress 0.2, 0.5, 0.8; March, judged on 1 April, ends 31 days into the 122
    # from 28 February to 30 June.
    assert got["expected_progress"] == pytest.approx(0.5 + 0.3 * 31 / 122, abs=1e-6)


def test_scorecard_rolls_goals_up_into_nested_objectives(world: Any) -> None:
    plan = world["plan"]
    plan.check_in(objective_id=world["grow"]["id"], date="2025-02-20", confidence=6, note="ok")

    card = plan.get("/alignment", as_of="2025-03-01")

    (grow,) = card["objectives"]
    (trust,) = grow["objectives"]
    assert card["timezone"] == "America/New_York"
    (source,) = card["sources"]
    assert source["history_from"] == "2024-01-01"  # the world's backfill
    assert source["synced_until"] is not None
    assert [g["title"] for g in grow["goals"]] == ["MRR to 2,000"]
    # A threshold goal has a record of periods held, not a progress figure.
    assert trust["progress"] is None
    assert trust["status"] == "off_track"
    # Only the MRR goal (progress 0) has a progress to roll up.
    assert grow["progress"] == 0.0
    assert (grow["status"], grow["status_words"], grow["no_data"]) == ("off_track", "Off track", 0)
    assert grow["latest_check_in"]["confidence"] == 6


def test_a_goal_without_data_is_shown_apart(world: Any) -> None:
    card = world["plan"].get("/alignment", as_of="2025-04-01")  # no SLA result in March

    (grow,) = card["objectives"]
    (trust,) = grow["objectives"]
    assert (trust["status"], trust["progress"], trust["no_data"]) == ("no_data", None, 1)
    assert (grow["status"], grow["progress"], grow["no_data"]) == ("off_track", 0.0, 1)


def test_scorecard_as_csv_has_one_row_per_goal(world: Any) -> None:
    response = world["plan"].api.client.get(
        "/api/v1/alignment",
        params={"as_of": "2025-03-01", "format": "csv"},
        headers=world["plan"].api.read,
    )

    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0].startswith("objective_id,objective,goal_id,goal,kpi,kind")
    assert len(lines) == 3


def test_an_as_of_in_the_future_is_refused(world: Any) -> None:
    response = world["plan"].api.client.get(
        "/api/v1/alignment", params={"as_of": "2999-01-01"}, headers=world["plan"].api.read
    )

    assert response.status_code == 422
    assert response.json()["code"] == "as_of_in_future"


def test_alignment_of_a_missing_goal_is_a_404(world: Any) -> None:
    response = world["plan"].api.client.get(
        "/api/v1/goals/999/alignment", headers=world["plan"].api.read
    )

    assert response.status_code == 404
    assert response.json()["code"] == "goal_not_found"


def test_scorecard_rolls_up_across_three_levels(world: Any) -> None:
    plan = world["plan"]
    calm = plan.objective("Calm weeks", parent_id=world["trust"]["id"])
    plan.goal(calm["id"], title="Hours in a band", kpi="hours_logged", kind="band", low=4, high=8)

    (grow,) = plan.get("/alignment", as_of="2025-03-01")["objectives"]

    (trust,) = grow["objectives"]
    (calm_out,) = trust["objectives"]
    # February: 6 hours logged, inside 4–8: on track (held), no progress figure.
    assert (calm_out["progress"], calm_out["status"]) == (None, "on_track")
    assert trust["progress"] is None
    assert trust["status"] == "off_track"  # the SLA goal, its worst child
    assert grow["progress"] == 0.0
    assert grow["status"] == "off_track"


def test_the_sparkline_length_is_a_parameter(world: Any) -> None:
    got = world["plan"].get(
        f"/goals/{world['mrr']['id']}/alignment", as_of="2025-04-01", sparkline=24
    )

    # 24 months ending with April, the month in progress on 1 April.
    assert len(got["series"]) == 24
    assert got["series"][0]["period_start"] == "2023-05-01"
    assert got["series"][0]["reason"] == "before_history"
    assert got["series"][0]["value"] is None


def test_a_past_day_before_the_goal_was_written_says_so(world: Any) -> None:
    got = world["plan"].get(f"/goals/{world['mrr']['id']}/alignment", as_of="2025-04-01")

    # The goal was written today, long after 1 April 2025, and no snapshot holds that day.
    assert got["recorded_on"] is None
    assert "This goal was written down on " in got["reason"]
    assert got["reason"].endswith("not what was known then.")
