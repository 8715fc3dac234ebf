"""The quarterly review as a ritual: it opens with the quarter's stories, lists the changes
to the plan (a target moved in March shows in the April–June review), leaves out what was
archived before the quarter, and ends with what a win will feel like."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import update

from app.goals.models import Objective, PlanChange
from tests.plan_helpers import written_on

PULSE = [
    {"date": "2025-03-15", "value": 6},
    {"date": "2025-04-15", "value": 6.5},
    {"date": "2025-05-15", "value": 7},
    {"date": "2025-06-15", "value": 7.5},
]


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def backdate_latest_change(api: Any, day: date) -> None:
    """Date the latest change as made on `day`, as if it had been made then."""
    with api.setup.context.db.session() as session:
        latest = max(session.query(PlanChange.id).all())[0]
        session.execute(
            update(PlanChange).where(PlanChange.id == latest).values(changed_at=at_noon(day))
        )


@pytest.fixture
def ritual(plan: Any) -> dict[str, Any]:
    api = plan.api
    plan.post("/kpis", {"key": "team_pulse", "name": "Team pulse", "min": 1, "max": 10})
    api.client.post("/api/v1/kpis/team_pulse/observations", headers=api.admin, json=PULSE)
    calm = plan.objective(
        "My team feels confident, not reactive",
        purpose="The team, so they stop firefighting",
        win_feels_like="I can take a real vacation and nothing catches fire.",
    )
    goal = plan.goal(
        calm["id"],
        title="Pulse to 7.5",
        kpi="team_pulse",
        kind="increase",
        baseline=5,
        target=7.5,
        start_date="2025-01-01",
        due_date="2025-12-31",
    )
    with api.setup.context.db.session() as session:
        session.execute(update(PlanChange).values(changed_at=at_noon(date(2024, 12, 20))))
    written_on(api, date(2024, 12, 20))
    api.client.patch(f"/api/v1/goals/{goal['id']}", headers=api.admin, json={"target": 8})
    backdate_latest_change(api, date(2025, 3, 12))
    api.client.patch(f"/api/v1/goals/{goal['id']}", headers=api.admin, json={"title": "Pulse up"})
    backdate_latest_change(api, date(2025, 5, 5))
    # Made after the quarter: not in its review.
    api.client.patch(f"/api/v1/goals/{goal['id']}", headers=api.admin, json={"weight": 2})

    old = plan.objective("Old plan", win_feels_like="Never read")
    dropped = plan.objective("Dropped in May", win_feels_like="Also in the review")
    for objective, day in ((old, date(2025, 2, 1)), (dropped, date(2025, 5, 10))):
        url = f"/api/v1/objectives/{objective['id']}/archive"
        assert api.client.post(url, headers=api.admin).status_code == 200
        with api.setup.context.db.session() as session:
            session.execute(
                update(Objective)
                .where(Objective.id == objective["id"])
                .values(archived_at=at_noon(day))
            )

    plan.post("/stories", {"kind": "client", "text": "Acme renewed early.", "date": "2025-04-20"})
    plan.post(
        "/stories",
        {
            "kind": "employee",
            "text": "I slept through the weekend.",
            "date": "2025-03-30",
            "quarter": "2025-Q2",
        },
    )
    plan.post("/stories", {"kind": "client", "text": "Next quarter", "date": "2025-07-02"})
    return {"calm": calm, "goal": goal, "old": old, "dropped": dropped}


def review(plan: Any, **params: Any) -> Any:
    response = plan.api.client.get("/api/v1/reviews/2025-Q2", headers=plan.api.read, params=params)
    assert response.status_code == 200, response.text
    return response


def test_the_review_opens_with_the_quarters_stories(plan: Any, ritual: dict[str, Any]) -> None:
    body = review(plan).json()
    assert [(s["text"], s["author"]) for s in body["stories"]] == [
        ("I slept through the weekend.", "API key admin"),
        ("Acme renewed early.", "API key admin"),
    ]


def test_a_target_moved_in_march_is_in_the_q2_review(plan: Any, ritual: dict[str, Any]) -> None:
    body = review(plan).json()
    calm = next(o for o in body["objectives"] if o["id"] == ritual["calm"]["id"])

    changes = [(c["words"], c["during_quarter"]) for c in calm["plan_changes"]]

    assert changes == [
        ("goal “Pulse to 7.5”: target 7.5 → 8", False),
        ("goal “Pulse up”: title Pulse to 7.5 → Pulse up", True),
    ]
    assert calm["win_feels_like"] == "I can take a real vacation and nothing catches fire."


def test_archived_before_the_quarter_is_left_out_archived_during_it_is_in(
    plan: Any, ritual: dict[str, Any]
) -> None:
    body = review(plan).json()
    reviewed = {o["id"]: o for o in body["objectives"]}
    assert ritual["old"]["id"] not in reviewed
    assert reviewed[ritual["dropped"]["id"]]["archived_on"] == "2025-05-10"
    assert reviewed[ritual["calm"]["id"]]["archived_on"] is None


def test_the_markdown_opens_with_stories_and_ends_with_the_wins(
    plan: Any, ritual: dict[str, Any]
) -> None:
    text = review(plan, format="markdown").text
    lines = text.splitlines()

    stories = lines.index("## Stories of the quarter")
    first_objective = lines.index("## My team feels confident, not reactive")
    wins = lines.index("## What a win will feel like")

    assert stories < first_objective < wins
    assert lines[stories + 2] == (
        "- 2025-03-30, an employee story, recorded by API key admin: I slept through the weekend."
    )
    assert (
        "- 12 Mar 2025 (before the quarter), API key admin: goal “Pulse to 7.5”: target "
        "7.5 → 8" in text
    )
    assert "- 5 May 2025, API key admin: goal “Pulse up”: title Pulse to 7.5 → Pulse up" in text
    assert "weight" not in text.split("Changes to the plan")[1].split("##")[0]
    assert lines[wins + 2 :] == [
        "- My team feels confident, not reactive: I can take a real vacation and nothing "
        "catches fire.",
        "- Dropped in May: Also in the review",
    ]
    assert "Never read" not in text
    assert "Archived on 2025-05-10" in text


def test_the_html_has_the_stories_first_and_the_wins_last(
    plan: Any, ritual: dict[str, Any]
) -> None:
    page = review(plan, format="html").text
    assert page.index("Stories of the quarter") < page.index("<section><h2>My team")
    assert page.index("<section><h2>My team") < page.index("What a win will feel like")
    assert "I can take a real vacation and nothing catches fire." in page
    assert "Changes to the plan" in page
    assert "<script" not in page
