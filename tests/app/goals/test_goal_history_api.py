"""The history of the plan through the API: every change to an objective, goal or milestone,
with who made it and what it was before and after, newest first; and on the goal's page."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import func, select

from app.goals.models import PlanChange
from tests.app.web.test_web_scorecard_page import sign_in

GOAL = {
    "title": "Answer faster",
    "kpi": "sla_response_pct",
    "kind": "stay_above",
    "target": 95,
}


def patch(api: Any, url: str, body: dict[str, Any]) -> Any:
    return api.client.patch(f"/api/v1{url}", headers=api.admin, json=body)


def test_a_moved_target_is_in_the_goals_history_with_who_and_before_after(plan: Any) -> None:
    objective = plan.objective("Clients trust us")
    goal = plan.goal(objective["id"], **GOAL)

    assert patch(plan.api, f"/goals/{goal['id']}", {"target": 97}).status_code == 200
    history = plan.get(f"/goals/{goal['id']}/history")

    assert [c["action"] for c in history] == ["update", "create"]
    moved = history[0]
    assert moved["by"] == "API key admin"
    assert moved["changed"] == ["target"]
    assert (moved["before"]["target"], moved["after"]["target"]) == (95, 97)
    assert moved["words"] == "target 95 % → 97 %"
    assert moved["entity"] == "goal" and moved["entity_id"] == goal["id"]
    assert history[0]["at"] >= history[1]["at"]
    assert history[1]["before"] is None and history[1]["after"]["kind"] == "stay_above"


def test_an_update_that_changes_nothing_writes_no_history(plan: Any) -> None:
    objective = plan.objective("Clients trust us")
    goal = plan.goal(objective["id"], **GOAL)
    patch(plan.api, f"/goals/{goal['id']}", {"target": 95})
    assert [c["action"] for c in plan.get(f"/goals/{goal['id']}/history")] == ["create"]


def test_a_refused_change_leaves_no_history(plan: Any) -> None:
    objective = plan.objective("Clients trust us")
    goal = plan.goal(objective["id"], **GOAL)

    refused = patch(plan.api, f"/goals/{goal['id']}", {"target": 250})

    assert refused.status_code == 422
    assert [c["action"] for c in plan.get(f"/goals/{goal['id']}/history")] == ["create"]


def test_milestones_changes_are_in_their_goals_history(plan: Any) -> None:
    objective = plan.objective("Answer faster")
    goal = plan.goal(
        objective["id"],
        title="Response time down",
        kpi="avg_response_hours",
        kind="decrease",
        baseline=6,
        target=2,
    )
    milestone = plan.milestone(goal["id"], "2025-03-31", 4)
    patch(plan.api, f"/milestones/{milestone['id']}", {"target": 3.5, "title": "Q1 step"})
    plan.api.client.delete(f"/api/v1/milestones/{milestone['id']}", headers=plan.api.admin)

    history = plan.get(f"/goals/{goal['id']}/history")

    assert [(c["entity"], c["action"]) for c in history] == [
        ("milestone", "delete"),
        ("milestone", "update"),
        ("milestone", "create"),
        ("goal", "create"),
    ]
    assert history[1]["words"] == "milestone “Q1 step”: title none → Q1 step; target 4 h → 3.5 h"
    assert history[0]["after"] is None and history[0]["before"]["target"] == 3.5


def test_an_objectives_history_has_its_own_changes_and_its_goals(plan: Any) -> None:
    objective = plan.objective("Clients trust us", purpose="Renewals")
    goal = plan.goal(objective["id"], **GOAL)
    patch(
        plan.api,
        f"/objectives/{objective['id']}",
        {"win_feels_like": "Clients call us first", "owner": "Dana"},
    )
    plan.api.client.delete(f"/api/v1/goals/{goal['id']}", headers=plan.api.admin)

    history = plan.get(f"/objectives/{objective['id']}/history")

    assert [c["words"] for c in history] == [
        "deleted goal “Answer faster”",
        "owner none → Dana; what a win will feel like none → “Clients call us first”",
        "wrote down goal “Answer faster”",
        "wrote down the objective",
    ]
    # A deleted goal's history is kept and still readable.
    kept = plan.get(f"/goals/{goal['id']}/history")
    assert [c["action"] for c in kept] == ["delete", "create"]


def test_deleting_an_objective_is_recorded(plan: Any) -> None:
    objective = plan.objective("Short-lived")
    plan.api.client.delete(f"/api/v1/objectives/{objective['id']}", headers=plan.api.admin)
    history = plan.get(f"/objectives/{objective['id']}/history")
    assert [c["action"] for c in history] == ["delete", "create"]
    assert history[0]["before"]["title"] == "Short-lived"


def test_the_history_of_a_goal_that_never_existed_is_a_404(plan: Any) -> None:
    response = plan.api.client.get("/api/v1/goals/4242/history", headers=plan.api.read)
    assert (response.status_code, response.json()["code"]) == (404, "goal_not_found")
    response = plan.api.client.get("/api/v1/objectives/4242/history", headers=plan.api.read)
    assert (response.status_code, response.json()["code"]) == (404, "objective_not_found")


def test_each_change_is_one_history_row_written_with_it(plan: Any) -> None:
    objective = plan.objective("Clients trust us")
    goal = plan.goal(objective["id"], **GOAL)
    patch(plan.api, f"/goals/{goal['id']}", {"target": 96})
    patch(plan.api, f"/goals/{goal['id']}", {"target": 97})
    with plan.api.setup.context.db.session() as session:
        rows = session.scalar(select(func.count()).select_from(PlanChange))
    assert rows == 4  # objective created, goal created, two target moves


def test_the_goal_page_shows_its_history(plan: Any) -> None:
    objective = plan.objective("Clients trust us")
    goal = plan.goal(objective["id"], **GOAL)
    patch(plan.api, f"/goals/{goal['id']}", {"target": 97})
    sign_in(plan.api)

    page = plan.api.client.get(f"/goals/{goal['id']}")

    assert page.status_code == 200
    text = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))
    section = text[text.index("History of this goal") :]
    assert re.search(r"\d{1,2} \w{3} \d{4}, API key admin: target 95 % → 97 %", section)
    assert "API key admin: wrote down the goal" in section
    assert section.index("target 95 %") < section.index("wrote down the goal")
