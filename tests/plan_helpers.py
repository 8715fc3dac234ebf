"""Writing a small plan through the REST API, as an owner would, for the tests that read it
back through other interfaces (OData, /metrics, the SQL views)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import update

from app.goals.models import Goal


def post(api: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to /api/v1 with the admin key; the created object."""
    response = api.client.post(f"/api/v1{url}", headers=api.admin, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def band_goal(
    api: Any, objective: str = "Calm weeks", title: str = "Hours in a band (4–8)"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An objective with one goal: hours logged between 4 and 8, over the first half of 2025
    of the hand-made KPI world. Returns (objective, goal)."""
    created = post(api, "/objectives", {"title": objective})
    goal = post(
        api,
        "/goals",
        {
            "objective_id": created["id"],
            "title": title,
            "kpi": "hours_logged",
            "kind": "band",
            "low": 4,
            "high": 8,
            "start_date": "2025-01-01",
            "due_date": "2025-07-01",
        },
    )
    written_on(api, date(2024, 12, 20))  # before the snapshots the tests take
    return created, goal


def written_on(api: Any, day: date) -> None:
    """Date every goal as written down on `day` (noon UTC), as if the plan had been made
    then: a review grades only the goals that existed in its quarter."""
    with api.setup.context.db.session() as session:
        session.execute(update(Goal).values(created_at=datetime.combine(day, time(12), tzinfo=UTC)))
