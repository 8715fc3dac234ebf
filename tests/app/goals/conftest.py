from __future__ import annotations

from typing import Any

import pytest


class Plan:
    """Writes objectives, goals, milestones and check-ins through the API (admin key)."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api.client.post(f"/api/v1{url}", headers=self.api.admin, json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def objective(self, title: str, **fields: Any) -> dict[str, Any]:
        return self.post("/objectives", {"title": title, **fields})

    def goal(self, objective_id: int, **fields: Any) -> dict[str, Any]:
        body = {
            "objective_id": objective_id,
            "title": "Goal",
            "start_date": "2025-01-01",
            "due_date": "2025-07-01",
            **fields,
        }
        return self.post("/goals", body)

    def milestone(self, goal_id: int, due_date: str, target: float | None = None) -> Any:
        return self.post(f"/goals/{goal_id}/milestones", {"due_date": due_date, "target": target})

    def check_in(self, **fields: Any) -> dict[str, Any]:
        return self.post("/check-ins", fields)

    def get(self, url: str, **params: Any) -> Any:
        response = self.api.client.get(f"/api/v1{url}", headers=self.api.read, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def plan(api: Any) -> Plan:
    return Plan(api)


@pytest.fixture
def world_plan(kpi_source: Any) -> Plan:
    """A plan over the hand-made KPI world (tests/kpi_world.py, New York time)."""
    return Plan(kpi_source)
