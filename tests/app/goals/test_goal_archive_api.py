"""Archiving objectives and goals through the API: out of the scorecard and lists, still
readable, restorable, and refusals that say what to do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.goals.models import AlignmentSnapshot
from app.goals.snapshots import take_alignment_snapshots

GOAL = {
    "kpi": "avg_response_hours",
    "kind": "decrease",
    "baseline": 6,
    "target": 2,
}


def post(api: Any, url: str, body: Any = None) -> Any:
    return api.client.post(f"/api/v1{url}", headers=api.admin, json=body)


def scorecard_ids(plan: Any, **params: Any) -> tuple[list[int], list[int]]:
    """(objective ids, goal ids) on the scorecard, at any depth."""
    card = plan.get("/alignment", sparkline=0, **params)
    objectives, goals = [], []
    stack = list(card["objectives"])
    while stack:
        objective = stack.pop()
        objectives.append(objective["id"])
        goals += [g["goal_id"] for g in objective["goals"]]
        stack += objective["objectives"]
    return sorted(objectives), sorted(goals)


def test_an_archived_objective_leaves_the_scorecard_with_its_goals_and_children(
    plan: Any,
) -> None:
    top = plan.objective("Grow recurring revenue")
    child = plan.objective("Sell more managed seats", parent_id=top["id"])
    other = plan.objective("Answer faster")
    kept = plan.goal(other["id"], title="Kept", **GOAL)
    hidden = plan.goal(child["id"], title="Hidden with its objective", **GOAL)

    archived = post(plan.api, f"/objectives/{top['id']}/archive")

    assert archived.status_code == 200 and archived.json()["archived_at"] is not None
    assert scorecard_ids(plan) == ([other["id"]], [kept["id"]])
    assert scorecard_ids(plan, include_archived="true") == (
        sorted([top["id"], child["id"], other["id"]]),
        sorted([kept["id"], hidden["id"]]),
    )
    assert [o["id"] for o in plan.get("/objectives")] == [other["id"]]
    assert [g["id"] for g in plan.get("/goals")] == [kept["id"]]
    assert len(plan.get("/objectives", include_archived="true")) == 3
    # Still readable one by one.
    assert plan.get(f"/objectives/{top['id']}")["archived_at"] == archived.json()["archived_at"]
    assert plan.get(f"/goals/{hidden['id']}")["title"] == "Hidden with its objective"


def test_restoring_an_objective_brings_back_what_was_archived_with_it(plan: Any) -> None:
    top = plan.objective("Grow recurring revenue")
    goal = plan.goal(top["id"], **GOAL)
    post(plan.api, f"/objectives/{top['id']}/archive")

    restored = post(plan.api, f"/objectives/{top['id']}/restore")

    assert restored.status_code == 200 and restored.json()["archived_at"] is None
    assert scorecard_ids(plan) == ([top["id"]], [goal["id"]])


def test_archiving_twice_changes_nothing(plan: Any) -> None:
    top = plan.objective("Grow")
    first = post(plan.api, f"/objectives/{top['id']}/archive").json()
    second = post(plan.api, f"/objectives/{top['id']}/archive").json()
    assert first["archived_at"] == second["archived_at"]
    actions = [c["action"] for c in plan.get(f"/objectives/{top['id']}/history")]
    assert actions == ["archive", "create"]


def test_an_archived_goal_leaves_the_scorecard_and_can_be_restored(plan: Any) -> None:
    objective = plan.objective("Answer faster")
    goal = plan.goal(objective["id"], **GOAL)

    archived = post(plan.api, f"/goals/{goal['id']}/archive").json()
    listed = plan.get("/goals", include_archived="true")
    assert archived["archived_at"] is not None
    assert scorecard_ids(plan) == ([objective["id"]], [])
    assert [g["archived_at"] is not None for g in listed] == [True]

    restored = post(plan.api, f"/goals/{goal['id']}/restore").json()
    assert restored["archived_at"] is None
    assert scorecard_ids(plan) == ([objective["id"]], [goal["id"]])


def test_a_goal_cannot_be_restored_while_its_objective_is_archived(plan: Any) -> None:
    objective = plan.objective("Answer faster")
    goal = plan.goal(objective["id"], **GOAL)
    post(plan.api, f"/goals/{goal['id']}/archive")
    post(plan.api, f"/objectives/{objective['id']}/archive")

    refused = post(plan.api, f"/goals/{goal['id']}/restore")

    assert refused.status_code == 409
    assert refused.json()["code"] == "objective_archived"
    assert "restore the objective first" in refused.json()["message"]


def test_a_child_cannot_be_restored_under_an_archived_parent(plan: Any) -> None:
    top = plan.objective("Grow")
    child = plan.objective("Step", parent_id=top["id"])
    post(plan.api, f"/objectives/{child['id']}/archive")
    post(plan.api, f"/objectives/{top['id']}/archive")

    refused = post(plan.api, f"/objectives/{child['id']}/restore")

    assert (refused.status_code, refused.json()["code"]) == (409, "parent_archived")


def test_nothing_new_is_put_under_an_archived_objective(plan: Any) -> None:
    objective = plan.objective("Old plan")
    post(plan.api, f"/objectives/{objective['id']}/archive")
    body = {
        "objective_id": objective["id"],
        "title": "New",
        "start_date": "2025-01-01",
        "due_date": "2025-07-01",
        **GOAL,
    }

    goal = post(plan.api, "/goals", body)
    child = post(plan.api, "/objectives", {"title": "Step", "parent_id": objective["id"]})

    assert goal.status_code == 422 and child.status_code == 422
    assert goal.json()["code"] == "objective_archived"
    assert goal.json()["details"][0]["field"] == "body.objective_id"
    assert "is archived: restore it first" in goal.json()["message"]
    assert child.json()["details"][0]["field"] == "body.parent_id"


def test_a_goal_of_an_archived_objective_can_still_be_corrected(plan: Any) -> None:
    objective = plan.objective("Old plan")
    goal = plan.goal(objective["id"], **GOAL)
    post(plan.api, f"/objectives/{objective['id']}/archive")

    changed = plan.api.client.patch(
        f"/api/v1/goals/{goal['id']}", headers=plan.api.admin, json={"title": "Renamed"}
    )

    assert changed.status_code == 200 and changed.json()["title"] == "Renamed"


def test_archiving_needs_an_admin_key_and_an_existing_objective(plan: Any) -> None:
    objective = plan.objective("Grow")
    read_only = plan.api.client.post(
        f"/api/v1/objectives/{objective['id']}/archive", headers=plan.api.read
    )
    missing = post(plan.api, "/goals/999/archive")
    assert read_only.status_code == 403
    assert (missing.status_code, missing.json()["code"]) == (404, "goal_not_found")


def test_archived_goals_get_no_new_daily_snapshot(plan: Any) -> None:
    objective = plan.objective("Answer faster")
    kept = plan.goal(objective["id"], title="Kept", **GOAL)
    archived = plan.goal(objective["id"], title="Archived", **GOAL)
    post(plan.api, f"/goals/{archived['id']}/archive")
    context = plan.api.setup.context

    written = take_alignment_snapshots(
        context.db, context.settings, datetime.now(context.settings.tz).date()
    )

    with context.db.session() as session:
        snapshotted = list(session.scalars(select(AlignmentSnapshot.goal_id)))
    assert (written, snapshotted) == (1, [kept["id"]])
