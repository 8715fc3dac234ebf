"""Writing a small plan through the REST API, as an owner would, for the tests that read it
back through other interfaces (OData, /metrics, the SQL views)."""

from __future__ import annotations

from typing import Any


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
    return created, goal
