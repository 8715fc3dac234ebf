"""Objectives, goals, milestones and check-ins through the API: CRUD, and refusals that name
the field and say what to fix."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from app.goals.models import CheckIn

GOAL = {
    "title": "Answer faster",
    "kpi": "avg_response_hours",
    "kind": "decrease",
    "baseline": 6,
    "target": 2,
    "start_date": "2025-01-01",
    "due_date": "2025-12-31",
}


@pytest.fixture
def objective(plan: Any) -> dict[str, Any]:
    return plan.objective(
        "My team feels more confident and less reactive",
        purpose="The team, so they stop firefighting",
        owner="Sam",
        horizon="6 months",
    )


def post(api: Any, url: str, body: dict[str, Any], headers: Any = None) -> Any:
    return api.client.post(f"/api/v1{url}", headers=headers or api.admin, json=body)


def patch(api: Any, url: str, body: dict[str, Any]) -> Any:
    return api.client.patch(f"/api/v1{url}", headers=api.admin, json=body)


def test_objective_crud(plan: Any, objective: dict[str, Any]) -> None:
    api = plan.api
    assert objective["horizon"] == "6 months" and objective["weight"] == 1.0

    changed = patch(api, f"/objectives/{objective['id']}", {"owner": "Alex"}).json()
    listed = plan.get("/objectives")
    deleted = api.client.delete(f"/api/v1/objectives/{objective['id']}", headers=api.admin)

    assert (changed["owner"], changed["title"]) == ("Alex", objective["title"])
    assert [o["id"] for o in listed] == [objective["id"]]
    assert deleted.status_code == 204
    gone = api.client.get(f"/api/v1/objectives/{objective['id']}", headers=api.read)
    assert (gone.status_code, gone.json()["code"]) == (404, "objective_not_found")


def test_objectives_nest_and_refuse_loops(plan: Any, objective: dict[str, Any]) -> None:
    child = plan.objective("12-month step", parent_id=objective["id"])
    grandchild = plan.objective("6-month step", parent_id=child["id"])

    loop = patch(plan.api, f"/objectives/{objective['id']}", {"parent_id": grandchild["id"]})
    itself = patch(plan.api, f"/objectives/{child['id']}", {"parent_id": child["id"]})
    missing = post(plan.api, "/objectives", {"title": "x", "parent_id": 999})

    assert (loop.status_code, loop.json()["code"]) == (422, "objective_cycle")
    assert loop.json()["details"][0]["field"] == "body.parent_id"
    assert itself.json()["code"] == "objective_cycle"
    assert (missing.status_code, missing.json()["code"]) == (422, "parent_not_found")
    assert [o["id"] for o in plan.get("/objectives", parent_id=child["id"])] == [grandchild["id"]]


def test_an_objective_with_goals_or_children_is_not_deleted(
    plan: Any, objective: dict[str, Any]
) -> None:
    plan.goal(objective["id"], **GOAL)

    response = plan.api.client.delete(
        f"/api/v1/objectives/{objective['id']}", headers=plan.api.admin
    )

    assert (response.status_code, response.json()["code"]) == (409, "objective_not_empty")


def test_goal_crud(plan: Any, objective: dict[str, Any]) -> None:
    goal = plan.goal(objective["id"], **GOAL, scope={"priority": "P1"}, weight=2)

    assert goal["scope"] == {
        "source": None,
        "client": None,
        "technician": None,
        "board": None,
        "priority": "P1",
    }
    assert (goal["baseline"], goal["baseline_computed"]) == (6.0, False)
    assert goal["evaluation_grain"] == "month"
    changed = patch(plan.api, f"/goals/{goal['id']}", {"target": 3, "weight": 1}).json()
    assert (changed["target"], changed["weight"], changed["baseline"]) == (3.0, 1.0, 6.0)
    assert [g["id"] for g in plan.get("/goals", objective_id=objective["id"])] == [goal["id"]]
    deleted = plan.api.client.delete(f"/api/v1/goals/{goal['id']}", headers=plan.api.admin)
    assert deleted.status_code == 204
    gone = plan.api.client.get(f"/api/v1/goals/{goal['id']}", headers=plan.api.read)
    assert (gone.status_code, gone.json()["code"]) == (404, "goal_not_found")


def test_a_computed_baseline_follows_a_kpi_change(plan: Any, objective: dict[str, Any]) -> None:
    goal = plan.goal(
        objective["id"], title="More closed", kpi="tickets_closed", kind="increase", target=50
    )
    # No PSA has been synced here, so the baseline month is not covered: no baseline yet,
    # never a made-up 0.
    assert (goal["baseline"], goal["baseline_computed"]) == (None, False)
    assert (goal["baseline_start"], goal["baseline_end"]) == (None, None)

    changed = patch(plan.api, f"/goals/{goal['id']}", {"kpi": "tickets_created"}).json()

    assert (changed["kpi"], changed["baseline"], changed["baseline_computed"]) == (
        "tickets_created",
        None,
        False,
    )


def test_a_computed_baseline_follows_a_kpi_change_on_covered_data(world_plan: Any) -> None:
    objective = world_plan.objective("Close more")
    goal = world_plan.goal(
        objective["id"],
        title="More closed",
        kpi="tickets_closed",
        kind="increase",
        target=50,
        start_date="2025-02-01",
    )

    def january(kpi: str) -> float:
        values = world_plan.get(f"/kpis/{kpi}/values", **{"from": "2025-01-01", "to": "2025-02-01"})
        return float(values["values"][0]["value"])

    # The baseline is January, the month before the start, as the KPI API reads it.
    assert (goal["baseline"], goal["baseline_computed"]) == (january("tickets_closed"), True)

    changed = patch(world_plan.api, f"/goals/{goal['id']}", {"kpi": "tickets_created"}).json()

    assert january("tickets_created") != january("tickets_closed")
    assert (changed["kpi"], changed["baseline"], changed["baseline_computed"]) == (
        "tickets_created",
        january("tickets_created"),
        True,
    )


BAND = {"kind": "band", "target": None}
MRR = {"kpi": "mrr", "kind": "increase", "baseline": 1, "target": 2}
PERIOD = {"baseline": None, "baseline_start": "2024-10-01"}

# (case, fields changed from GOAL, code, field)
# fmt: off
REFUSALS: list[tuple[str, dict[str, Any], str, str]] = [
    ("band-low-not-below-high", {**BAND, "low": 80, "high": 70}, "band_invalid", "body.high"),
    ("band-without-high", {**BAND, "low": 70}, "band_bounds_required", "body.high"),
    ("band-with-target", {"kind": "band", "low": 70, "high": 80}, "target_not_allowed",
     "body.target"),
    ("due-before-start", {"due_date": "2024-12-31"}, "due_before_start", "body.due_date"),
    ("due-on-start", {"due_date": "2025-01-01"}, "due_before_start", "body.due_date"),
    ("unknown-kpi", {"kpi": "happiness"}, "kpi_not_found", "body.kpi"),
    ("scope-kpi-cannot-take", {**MRR, "scope": {"technician": "7"}}, "scope_not_supported",
     "body.scope"),
    ("three-scopes", {"scope": {"client": "1", "board": "Service", "priority": "P1"}},
     "too_many_scopes", "body.scope"),
    ("unknown-client", {"scope": {"client": "99999"}}, "client_not_found", "body.scope"),
    ("grain-kpi-cannot-take", {**MRR, "evaluation_grain": "day"}, "grain_not_supported",
     "body.evaluation_grain"),
    ("increase-without-target", {"kind": "increase", "target": None}, "target_required",
     "body.target"),
    ("decrease-target-above-baseline", {"target": 8}, "target_wrong_side", "body.target"),
    ("increase-target-below-baseline", {"kind": "increase", "target": 4}, "target_wrong_side",
     "body.target"),
    ("threshold-with-bounds", {"kind": "stay_below", "low": 1}, "bounds_not_allowed",
     "body.low"),
    ("half-a-baseline-period", PERIOD, "baseline_period_incomplete", "body.baseline_end"),
    ("reversed-baseline-period", {**PERIOD, "baseline_end": "2024-09-01"},
     "invalid_baseline_period", "body.baseline_end"),
    ("objective-missing", {"objective_id": 999}, "objective_not_found", "body.objective_id"),
]
# fmt: on


@pytest.mark.parametrize(
    ("fields", "code", "field"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_goal_that_does_not_hold_together_is_refused(
    plan: Any, objective: dict[str, Any], fields: dict[str, Any], code: str, field: str
) -> None:
    body = {"objective_id": objective["id"], **GOAL, **fields}

    response = post(plan.api, "/goals", body)

    assert response.status_code == 422, response.text
    error = response.json()
    assert (error["code"], error["details"][0]["field"]) == (code, field)
    assert error["message"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "grow"}, "body.kind"),
        ({"weight": 0}, "body.weight"),
        ({"target": "x"}, "body.target"),
    ],
)
def test_malformed_goal_fields_are_named(
    plan: Any, objective: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    response = post(plan.api, "/goals", {"objective_id": objective["id"], **GOAL, **fields})

    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    assert response.json()["details"][0]["field"] == field


def test_a_change_that_breaks_a_goal_is_refused_and_nothing_changes(
    plan: Any, objective: dict[str, Any]
) -> None:
    goal = plan.goal(
        objective["id"], title="Utilisation", kpi="utilization_pct", kind="band", low=70, high=80
    )

    response = patch(plan.api, f"/goals/{goal['id']}", {"low": 85})

    assert (response.status_code, response.json()["code"]) == (422, "band_invalid")
    assert plan.get(f"/goals/{goal['id']}")["low"] == 70.0


def test_milestones(plan: Any, objective: dict[str, Any]) -> None:
    goal = plan.goal(objective["id"], **GOAL)
    first = plan.milestone(goal["id"], "2025-06-30", 4)
    plan.milestone(goal["id"], "2025-03-31", 5)

    moved = patch(plan.api, f"/milestones/{first['id']}", {"due_date": "2025-09-30"}).json()
    listed = plan.get(f"/goals/{goal['id']}/milestones")
    outside = post(
        plan.api, f"/goals/{goal['id']}/milestones", {"due_date": "2026-03-01", "target": 3}
    )
    no_target = post(plan.api, f"/goals/{goal['id']}/milestones", {"due_date": "2025-05-01"})
    deleted = plan.api.client.delete(f"/api/v1/milestones/{first['id']}", headers=plan.api.admin)

    assert moved["due_date"] == "2025-09-30"
    assert [m["due_date"] for m in listed] == ["2025-03-31", "2025-09-30"]
    assert (outside.status_code, outside.json()["code"]) == (422, "milestone_outside_goal")
    assert no_target.json()["code"] == "target_required"
    assert deleted.status_code == 204
    missing = patch(plan.api, f"/milestones/{first['id']}", {"target": 1})
    assert (missing.status_code, missing.json()["code"]) == (404, "milestone_not_found")


def test_a_band_milestone_is_the_band_held(plan: Any, objective: dict[str, Any]) -> None:
    goal = plan.goal(
        objective["id"], title="Utilisation", kpi="utilization_pct", kind="band", low=70, high=80
    )

    with_target = post(
        plan.api, f"/goals/{goal['id']}/milestones", {"due_date": "2025-03-31", "target": 75}
    )

    assert with_target.json()["code"] == "target_not_allowed"
    assert plan.milestone(goal["id"], "2025-03-31")["target"] is None


def test_check_ins(plan: Any, objective: dict[str, Any]) -> None:
    goal = plan.goal(objective["id"], **GOAL)
    on_goal = plan.check_in(goal_id=goal["id"], date="2025-02-01", confidence=7, note="better")
    plan.check_in(objective_id=objective["id"], date="2025-02-15", confidence=5, author="Sam")

    changed = patch(plan.api, f"/check-ins/{on_goal['id']}", {"confidence": 8}).json()
    of_goal = plan.get("/check-ins", goal_id=goal["id"])
    february = plan.get("/check-ins", **{"from": "2025-02-10", "to": "2025-03-01"})

    assert changed["confidence"] == 8 and changed["note"] == "better"
    assert [c["id"] for c in of_goal] == [on_goal["id"]]
    assert [c["author"] for c in february] == ["Sam"]


def test_a_check_in_without_a_date_is_dated_today(plan: Any, objective: dict[str, Any]) -> None:
    created = plan.check_in(objective_id=objective["id"], confidence=6)

    assert created["date"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"confidence": 11}, "invalid_request", "body.confidence"),
        ({"confidence": 0}, "invalid_request", "body.confidence"),
        ({"confidence": 5, "goal_id": None}, "check_in_needs_one_subject", "body.goal_id"),
        ({"confidence": 5, "goal_id": 999}, "goal_not_found", "body.goal_id"),
    ],
)
def test_check_in_refusals(
    plan: Any, objective: dict[str, Any], body: dict[str, Any], code: str, field: str
) -> None:
    full = {"objective_id": objective["id"], **body} if "goal_id" not in body else body

    response = post(plan.api, "/check-ins", full)

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["details"][0]["field"]) == (code, field)


def test_a_check_in_on_both_a_goal_and_an_objective_is_refused(
    plan: Any, objective: dict[str, Any]
) -> None:
    goal = plan.goal(objective["id"], **GOAL)

    response = post(
        plan.api,
        "/check-ins",
        {"goal_id": goal["id"], "objective_id": objective["id"], "confidence": 5},
    )

    assert response.json()["code"] == "check_in_needs_one_subject"


def test_deleting_a_goal_takes_its_milestones_and_check_ins(
    plan: Any, objective: dict[str, Any]
) -> None:
    goal = plan.goal(objective["id"], **GOAL)
    plan.milestone(goal["id"], "2025-06-30", 4)
    plan.check_in(goal_id=goal["id"], confidence=5)

    plan.api.client.delete(f"/api/v1/goals/{goal['id']}", headers=plan.api.admin)

    assert plan.get("/check-ins") == []
    missing = plan.api.client.get(f"/api/v1/goals/{goal['id']}/milestones", headers=plan.api.read)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "url", ["/objectives/999", "/goals/999", "/check-ins/999", "/goals/999/milestones"]
)
def test_missing_things_are_404_with_a_code(plan: Any, url: str) -> None:
    response = plan.api.client.get(f"/api/v1{url}", headers=plan.api.read)

    assert response.status_code == 404
    assert response.json()["code"].endswith("_not_found")


def test_a_read_key_reads_but_cannot_write(plan: Any, objective: dict[str, Any]) -> None:
    refused = post(plan.api, "/objectives", {"title": "x"}, headers=plan.api.read)

    assert (refused.status_code, refused.json()["code"]) == (403, "admin_key_required")
    assert plan.get(f"/objectives/{objective['id']}")["owner"] == "Sam"


def test_goals_as_csv_flatten_the_scope(plan: Any, objective: dict[str, Any]) -> None:
    plan.goal(objective["id"], **GOAL, scope={"board": "Service"})

    response = plan.api.client.get("/api/v1/goals", headers={**plan.api.read, "Accept": "text/csv"})

    header, row = response.text.splitlines()
    assert header.startswith("id,objective_id,title,kpi,source,client,technician,board,priority")
    assert ",Service," in row


def test_objectives_and_check_ins_as_csv(plan: Any, objective: dict[str, Any]) -> None:
    plan.check_in(objective_id=objective["id"], date="2025-02-01", confidence=7, note="a, b")

    objectives = plan.api.client.get("/api/v1/objectives?format=csv", headers=plan.api.read)
    check_ins = plan.api.client.get("/api/v1/check-ins?format=csv", headers=plan.api.read)

    assert objectives.text.splitlines()[0] == (
        "id,parent_id,title,purpose,owner,horizon,win_feels_like,weight,archived_at,created_at,updated_at"
    )
    header, row = check_ins.text.splitlines()
    assert header == "id,goal_id,objective_id,date,confidence,note,author,created_at"
    assert ',2025-02-01,7,"a, b",' in row


@pytest.mark.parametrize(
    "fields", [{"confidence": 11}, {"confidence": 5, "goal_id": None, "objective_id": None}]
)
def test_the_database_refuses_check_ins_the_api_would_refuse(
    plan: Any, objective: dict[str, Any], fields: dict[str, Any]
) -> None:
    row = CheckIn(**{"objective_id": objective["id"], "check_in_date": date(2025, 1, 1), **fields})

    with pytest.raises(IntegrityError), plan.api.setup.context.db.session() as session:
        session.add(row)
        session.flush()


def test_an_empty_plan_has_an_empty_scorecard_and_review(plan: Any) -> None:
    card = plan.get("/alignment", as_of="2025-03-01")
    review = plan.get("/reviews/2025-Q1")

    assert (card["objectives"], review["objectives"], review["status_changed"]) == ([], [], [])


# ---- numbers a KPI can take, and Northstar's limits ------------------------------------------

SLA = {"kpi": "sla_response_pct", "kind": "increase", "baseline": 80, "target": 100}
UTILISATION_BAND = {"kpi": "utilization_pct", **BAND}
PULSE = {"kpi": "team_confidence", "kind": "increase", "baseline": 5, "target": 8}
LIMIT_WORDS = "between -1,000,000,000,000 and 1,000,000,000,000"
DATE_WORDS = "2000-01-01 to 2100-12-31"


@pytest.fixture
def pulse(plan: Any) -> None:
    """A manual KPI on a 1–10 scale."""
    response = post(
        plan.api,
        "/kpis",
        {"key": "team_confidence", "name": "Team confidence pulse", "min": 1, "max": 10},
    )
    assert response.status_code == 201, response.text


# (case, fields changed from GOAL, code, field, words of the message)
# fmt: off
RANGE_REFUSALS: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("percent-target-150", {**SLA, "target": 150}, "outside_kpi_range", "body.target",
     "A target of 150 is impossible for SLA response met: its values lie between 0 and 100."),
    ("percent-threshold-150", {**SLA, "kind": "stay_above", "baseline": None, "target": 150},
     "outside_kpi_range", "body.target",
     "A threshold of 150 is impossible for SLA response met: its values lie between 0 and 100."),
    ("percent-baseline-below-0", {**SLA, "baseline": -10}, "outside_kpi_range",
     "body.baseline", "A baseline of -10 is impossible for SLA response met: its values lie "
     "between 0 and 100."),
    ("count-target-minus-5", {"kpi": "open_backlog", "baseline": 10, "target": -5},
     "outside_kpi_range", "body.target",
     "A target of -5 is impossible for Open backlog: its values are 0 or more."),
    ("hours-threshold-negative", {"kind": "stay_below", "baseline": None, "target": -1},
     "outside_kpi_range", "body.target", "its values are 0 or more"),
    ("band-60-120-on-utilisation", {**UTILISATION_BAND, "low": 60, "high": 120},
     "outside_kpi_range", "body.high",
     "A band high of 120 is impossible for Utilisation: its values lie between 0 and 100."),
    ("band-below-0-on-utilisation", {**UTILISATION_BAND, "low": -10, "high": 80},
     "outside_kpi_range", "body.low", "its values lie between 0 and 100"),
    ("manual-target-11", {**PULSE, "target": 11}, "outside_kpi_range", "body.target",
     "A target of 11 is impossible for Team confidence pulse: its values lie between 1 and 10."),
    ("manual-baseline-0", {**PULSE, "baseline": 0}, "outside_kpi_range", "body.baseline",
     "its values lie between 1 and 10"),
    ("target-beyond-the-limit", {**MRR, "target": 1e13}, "number_out_of_range", "body.target",
     LIMIT_WORDS),
    ("baseline-beyond-the-limit", {**MRR, "baseline": -1e300}, "number_out_of_range",
     "body.baseline", LIMIT_WORDS),
    ("weight-too-large", {"weight": 1e7}, "number_out_of_range", "body.weight",
     "at most 1,000,000"),
    ("start-in-year-1", {"start_date": "0001-01-01", "due_date": "9999-12-31"},
     "date_out_of_range", "body.start_date", DATE_WORDS),
    ("due-in-year-9999", {"due_date": "9999-12-31"}, "date_out_of_range", "body.due_date",
     DATE_WORDS),
    ("baseline-period-in-1999", {"baseline": None, "baseline_start": "1999-01-01",
     "baseline_end": "1999-02-01"}, "date_out_of_range", "body.baseline_start", DATE_WORDS),
]
# fmt: on


@pytest.mark.parametrize(
    ("fields", "code", "field", "words"),
    [r[1:] for r in RANGE_REFUSALS],
    ids=[r[0] for r in RANGE_REFUSALS],
)
@pytest.mark.usefixtures("pulse")
def test_a_goal_number_or_date_out_of_range_is_refused(
    plan: Any, objective: dict[str, Any], fields: dict[str, Any], code: str, field: str, words: str
) -> None:
    body = {"objective_id": objective["id"], **GOAL, **fields}

    response = post(plan.api, "/goals", body)

    assert response.status_code == 422, response.text
    error = response.json()
    assert (error["code"], error["details"][0]["field"]) == (code, field)
    assert words in error["message"]
    assert words in error["details"][0]["problem"]
    assert plan.get("/goals") == []


# (case, fields changed from GOAL)
# fmt: off
RANGE_ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("band-70-80-on-utilisation", {**UTILISATION_BAND, "low": 70, "high": 80}),
    ("band-0-100-on-utilisation", {**UTILISATION_BAND, "low": 0, "high": 100}),
    ("increase-to-100-percent", SLA),
    ("stay-above-100-percent", {**SLA, "kind": "stay_above", "baseline": None}),
    ("decrease-to-0", {"kpi": "open_backlog", "baseline": 10, "target": 0}),
    ("manual-target-10", {**PULSE, "target": 10}),
    ("manual-from-1", {**PULSE, "baseline": 1}),
    ("revenue-at-the-limit", {**MRR, "target": 1e12}),
    ("dates-at-the-window's-ends", {"start_date": "2000-01-01", "due_date": "2100-12-31"}),
    ("weight-at-the-limit", {"weight": 1e6}),
]
# fmt: on


@pytest.mark.parametrize(
    "fields", [r[1] for r in RANGE_ACCEPTED], ids=[r[0] for r in RANGE_ACCEPTED]
)
@pytest.mark.usefixtures("pulse")
def test_a_goal_within_range_is_accepted(
    plan: Any, objective: dict[str, Any], fields: dict[str, Any]
) -> None:
    goal = plan.goal(objective["id"], **{**GOAL, **fields})

    for name in ("target", "low", "high"):
        if fields.get(name) is not None:
            assert goal[name] == fields[name]


def test_a_change_out_of_range_is_refused_and_nothing_changes(
    plan: Any, objective: dict[str, Any]
) -> None:
    goal = plan.goal(objective["id"], **{**GOAL, **UTILISATION_BAND, "low": 70, "high": 80})

    response = patch(plan.api, f"/goals/{goal['id']}", {"high": 120})
    moved = patch(plan.api, f"/goals/{goal['id']}", {"due_date": "2101-01-01"})

    assert (response.status_code, response.json()["code"]) == (422, "outside_kpi_range")
    assert "between 0 and 100" in response.json()["message"]
    assert (moved.status_code, moved.json()["code"]) == (422, "date_out_of_range")
    assert DATE_WORDS in moved.json()["message"]
    assert plan.get(f"/goals/{goal['id']}")["high"] == 80.0


# (case, goal fields, milestone, code, field, words of the message)
# fmt: off
MILESTONE_REFUSALS: list[tuple[str, dict[str, Any], dict[str, Any], str, str, str]] = [
    ("percent-101", SLA, {"due_date": "2025-06-30", "target": 101}, "outside_kpi_range",
     "body.target", "A milestone target of 101 is impossible for SLA response met: its values "
     "lie between 0 and 100."),
    ("threshold-step-negative", {"kind": "stay_below", "baseline": None, "target": 4},
     {"due_date": "2025-06-30", "target": -2}, "outside_kpi_range", "body.target",
     "A milestone threshold of -2 is impossible for Average response time: its values are 0 "
     "or more."),
    ("manual-0", PULSE, {"due_date": "2025-06-30", "target": 0}, "outside_kpi_range",
     "body.target", "its values lie between 1 and 10"),
    ("dated-1999", SLA, {"due_date": "1999-12-31", "target": 90}, "date_out_of_range",
     "body.due_date", DATE_WORDS),
]
# fmt: on


@pytest.mark.parametrize(
    ("goal_fields", "milestone", "code", "field", "words"),
    [r[1:] for r in MILESTONE_REFUSALS],
    ids=[r[0] for r in MILESTONE_REFUSALS],
)
@pytest.mark.usefixtures("pulse")
def test_a_milestone_out_of_range_is_refused(
    plan: Any,
    objective: dict[str, Any],
    goal_fields: dict[str, Any],
    milestone: dict[str, Any],
    code: str,
    field: str,
    words: str,
) -> None:
    goal = plan.goal(objective["id"], **{**GOAL, **goal_fields})

    response = post(plan.api, f"/goals/{goal['id']}/milestones", milestone)

    assert response.status_code == 422, response.text
    error = response.json()
    assert (error["code"], error["details"][0]["field"]) == (code, field)
    assert words in error["message"]
    assert plan.get(f"/goals/{goal['id']}/milestones") == []


def test_a_milestone_at_the_edge_is_accepted_and_a_change_past_it_refused(
    plan: Any, objective: dict[str, Any]
) -> None:
    goal = plan.goal(objective["id"], **{**GOAL, **SLA})
    milestone = plan.milestone(goal["id"], "2025-06-30", 100)

    response = patch(plan.api, f"/milestones/{milestone['id']}", {"target": 101})

    assert milestone["target"] == 100.0
    assert (response.status_code, response.json()["code"]) == (422, "outside_kpi_range")
    assert "between 0 and 100" in response.json()["message"]


@pytest.mark.parametrize(
    ("url", "body", "code", "field", "words"),
    [
        (
            "/objectives",
            {"title": "x", "weight": 1e7},
            "number_out_of_range",
            "body.weight",
            "at most 1,000,000",
        ),
        (
            "/check-ins",
            {"confidence": 5, "date": "1999-12-31"},
            "date_out_of_range",
            "body.date",
            DATE_WORDS,
        ),
        (
            "/check-ins",
            {"confidence": 5, "date": "2101-01-01"},
            "date_out_of_range",
            "body.date",
            DATE_WORDS,
        ),
    ],
    ids=["objective-weight", "check-in-before-2000", "check-in-after-2100"],
)
def test_objective_weights_and_check_in_dates_are_bounded(
    plan: Any,
    objective: dict[str, Any],
    url: str,
    body: dict[str, Any],
    code: str,
    field: str,
    words: str,
) -> None:
    full = {"objective_id": objective["id"], **body} if url == "/check-ins" else body

    response = post(plan.api, url, full)

    assert response.status_code == 422, response.text
    error = response.json()
    assert (error["code"], error["details"][0]["field"]) == (code, field)
    assert words in error["message"]


def test_changing_an_objective_weight_or_check_in_date_out_of_range_is_refused(
    plan: Any, objective: dict[str, Any]
) -> None:
    check_in = plan.check_in(objective_id=objective["id"], date="2025-02-01", confidence=6)

    weight = patch(plan.api, f"/objectives/{objective['id']}", {"weight": 2e6})
    dated = patch(plan.api, f"/check-ins/{check_in['id']}", {"date": "0001-01-01"})

    assert (weight.status_code, weight.json()["code"]) == (422, "number_out_of_range")
    assert "at most 1,000,000" in weight.json()["message"]
    assert (dated.status_code, dated.json()["code"]) == (422, "date_out_of_range")
    assert DATE_WORDS in dated.json()["message"]
    assert plan.get(f"/objectives/{objective['id']}")["weight"] == 1.0


def test_a_milestone_judged_on_a_month_before_the_start_is_refused(
    plan: Any, objective: dict[str, Any]
) -> None:
    goal = plan.goal(
        objective["id"],
        title="Pulse",
        kpi="tickets_closed",
        kind="increase",
        baseline=1,
        target=9,
        start_date="2025-07-01",
        due_date="2025-12-31",
    )

    # 15 July reads June, the month before the start (the baseline month): refused.
    early = post(
        plan.api, f"/goals/{goal['id']}/milestones", {"due_date": "2025-07-15", "target": 2}
    )
    fine = post(
        plan.api, f"/goals/{goal['id']}/milestones", {"due_date": "2025-07-31", "target": 2}
    )

    assert (early.status_code, early.json()["code"]) == (422, "milestone_before_first_period")
    assert "Date it on 2025-07-31 or later" in early.json()["message"]
    assert fine.status_code == 201


def test_a_goal_shorter_than_its_period_is_refused(plan: Any, objective: dict[str, Any]) -> None:
    body = {
        "objective_id": objective["id"],
        "title": "Three weeks",
        "kpi": "tickets_closed",
        "kind": "increase",
        "baseline": 1,
        "target": 9,
        "start_date": "2025-09-01",
        "due_date": "2025-09-21",
    }

    monthly = post(plan.api, "/goals", body)
    weekly = post(plan.api, "/goals", {**body, "evaluation_grain": "week"})

    assert (monthly.status_code, monthly.json()["code"]) == (422, "goal_shorter_than_its_period")
    assert "Move the due date to 2025-09-30 or later" in monthly.json()["message"]
    assert weekly.status_code == 201
