"""Goals (with their current alignment), objectives and alignment snapshots in the feed."""

from __future__ import annotations

from datetime import date
from typing import Any

from plan_helpers import band_goal

from app.goals.snapshots import take_alignment_snapshots

DAY = date(2025, 3, 1)


def odata(api: Any, path: str, **params: str) -> list[dict[str, Any]]:
    response = api.client.get(f"/odata{path}", headers=api.read, params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["value"]
    return rows


def test_goals_carry_their_alignment_now(kpi_source: Any) -> None:
    """No waiting for the night's snapshot: the feed says what the alignment API says now."""
    api = kpi_source
    calm, goal = band_goal(api)
    now = api.client.get(f"/api/v1/goals/{goal['id']}/alignment", headers=api.read).json()
    (before,) = odata(api, "/Goals")
    assert before["Status"] == now["status"] and before["AlignmentDate"] == now["as_of"]

    context = api.setup.context
    assert take_alignment_snapshots(context.db, context.settings, date(2025, 2, 1)) == 1
    assert take_alignment_snapshots(context.db, context.settings, DAY) == 1
    (row,) = odata(api, "/Goals", **{"$filter": f"ObjectiveId eq {calm['id']}"})
    rest = api.client.get(f"/api/v1/goals/{goal['id']}/alignment", headers=api.read).json()
    assert row["AlignmentDate"] == rest["as_of"]
    assert row["Status"] == rest["status"]
    assert row["Progress"] == rest["progress"]
    assert row["CurrentValue"] == rest["current_value"]
    assert row["Title"] == goal["title"] and row["KpiKey"] == "hours_logged"

    by_status = odata(api, "/Goals", **{"$filter": f"Status eq '{rest['status']}'"})
    assert [g["Id"] for g in by_status] == [goal["id"]]
    snapshots = odata(
        api, "/AlignmentSnapshots", **{"$filter": f"GoalId eq {goal['id']}", "$orderby": "Date"}
    )
    assert [s["Date"] for s in snapshots] == ["2025-02-01", DAY.isoformat()]
    (objective,) = odata(api, "/Objectives", **{"$select": "Id,Title"})
    assert objective == {"Id": calm["id"], "Title": "Calm weeks"}
