"""Stories through the API (recorded for a quarter, by whoever records them), and who is
recorded on check-ins and on observations of manual KPIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest


def post(api: Any, url: str, body: Any, headers: Any = None) -> Any:
    return api.client.post(f"/api/v1{url}", headers=headers or api.admin, json=body)


def test_a_story_is_recorded_for_the_quarter_of_its_date_by_whoever_records_it(
    plan: Any,
) -> None:
    objective = plan.objective("Clients trust us")
    story = plan.post(
        "/stories",
        {
            "kind": "client",
            "text": "  Acme's CFO called to thank the team for the smooth onboarding. ",
            "date": "2026-05-12",
            "objective_id": objective["id"],
        },
    )
    assert (story["quarter"], story["kind"], story["date"]) == ("2026-Q2", "client", "2026-05-12")
    assert story["author"] == "API key admin"
    assert story["text"] == "Acme's CFO called to thank the team for the smooth onboarding."
    assert story["objective_id"] == objective["id"]
    assert plan.get(f"/stories/{story['id']}") == story


def test_a_story_told_before_the_quarter_can_be_recorded_for_it(plan: Any) -> None:
    story = plan.post(
        "/stories",
        {
            "kind": "employee",
            "text": "I took a real vacation.",
            "date": "2026-03-28",
            "quarter": "2026-q2",
        },
    )
    assert story["quarter"] == "2026-Q2"


def test_a_story_without_a_date_is_dated_today(plan: Any) -> None:
    story = plan.post("/stories", {"kind": "employee", "text": "Calmer weeks."})
    today = datetime.now(plan.api.setup.context.settings.tz).date()
    assert story["date"] == today.isoformat()
    assert story["quarter"] == f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def test_stories_are_listed_by_quarter_and_kind(plan: Any) -> None:
    first = plan.post("/stories", {"kind": "client", "text": "A", "date": "2026-04-02"})
    second = plan.post("/stories", {"kind": "employee", "text": "B", "date": "2026-04-01"})
    plan.post("/stories", {"kind": "client", "text": "C", "date": "2026-07-01"})

    in_q2 = plan.get("/stories", quarter="2026-Q2")
    clients = plan.get("/stories", quarter="2026-Q2", kind="client")

    assert [s["id"] for s in in_q2] == [second["id"], first["id"]]
    assert [s["id"] for s in clients] == [first["id"]]


def test_a_story_can_be_changed_and_deleted(plan: Any) -> None:
    story = plan.post("/stories", {"kind": "client", "text": "Draft", "date": "2026-04-02"})
    api = plan.api

    changed = api.client.patch(
        f"/api/v1/stories/{story['id']}",
        headers=api.admin,
        json={"text": "Final words", "kind": "employee", "quarter": "2026-Q3"},
    )
    deleted = api.client.delete(f"/api/v1/stories/{story['id']}", headers=api.admin)
    gone = api.client.get(f"/api/v1/stories/{story['id']}", headers=api.read)

    assert changed.status_code == 200
    assert (changed.json()["text"], changed.json()["kind"]) == ("Final words", "employee")
    assert changed.json()["quarter"] == "2026-Q3" and changed.json()["author"] == "API key admin"
    assert deleted.status_code == 204
    assert (gone.status_code, gone.json()["code"]) == (404, "story_not_found")


def test_a_read_key_reads_stories_but_cannot_write_them(plan: Any) -> None:
    api = plan.api
    refused = post(api, "/stories", {"kind": "client", "text": "x"}, headers=api.read)
    assert refused.status_code == 403
    assert api.client.get("/api/v1/stories", headers=api.read).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"kind": "partner", "text": "x"}, "body.kind", "client"),
        ({"kind": "client", "text": ""}, "body.text", ""),
        ({"kind": "client", "text": "   "}, "body.text", "needs its text"),
        ({"kind": "client", "text": "x", "quarter": "2026-Q5"}, "body.quarter", "2026-Q2"),
        ({"kind": "client", "text": "x", "quarter": "3000-Q1"}, "body.quarter", "2100-12-31"),
        ({"kind": "client", "text": "x", "date": "1999-12-31"}, "body.date", "2000-01-01"),
        ({"kind": "client", "text": "x", "objective_id": 999}, "body.objective_id", "no objective"),
    ],
)
def test_a_bad_story_is_a_422_naming_the_field(
    plan: Any, body: dict[str, Any], field: str, words: str
) -> None:
    response = post(plan.api, "/stories", body)
    assert response.status_code == 422, response.text
    problem = response.json()
    fields = [d.get("field") for d in problem.get("details", [])]
    assert field in fields, problem
    assert words in response.text


def test_a_story_cannot_be_patched_to_null(plan: Any) -> None:
    story = plan.post("/stories", {"kind": "client", "text": "x", "date": "2026-04-02"})
    response = plan.api.client.patch(
        f"/api/v1/stories/{story['id']}", headers=plan.api.admin, json={"text": None}
    )
    assert response.status_code == 422 and "cannot be null" in response.text


def test_a_bad_quarter_filter_is_a_422(plan: Any) -> None:
    response = plan.api.client.get(
        "/api/v1/stories", headers=plan.api.read, params={"quarter": "spring"}
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "query.quarter"


def test_deleting_an_objective_keeps_its_stories_unlinked(plan: Any) -> None:
    objective = plan.objective("Short-lived")
    story = plan.post("/stories", {"kind": "client", "text": "x", "objective_id": objective["id"]})
    plan.api.client.delete(f"/api/v1/objectives/{objective['id']}", headers=plan.api.admin)
    assert plan.get(f"/stories/{story['id']}")["objective_id"] is None


# ---- authors of check-ins and observations -----------------------------------------------


def test_an_api_check_in_without_an_author_is_the_keys(plan: Any) -> None:
    objective = plan.objective("Clients trust us")
    unnamed = plan.check_in(objective_id=objective["id"], confidence=6)
    named = plan.check_in(objective_id=objective["id"], confidence=7, author="Dana")
    assert (unnamed["author"], named["author"]) == ("API key admin", "Dana")


def test_observations_record_who_recorded_them(plan: Any) -> None:
    api = plan.api
    post(api, "/kpis", {"key": "team_pulse", "name": "Team pulse", "min": 1, "max": 10})
    posted = api.client.post(
        "/api/v1/kpis/team_pulse/observations",
        headers=api.admin,
        json=[{"date": "2026-04-06", "value": 7}],
    )
    assert posted.status_code == 200, posted.text

    observed = api.client.get("/api/v1/kpis/team_pulse/observations", headers=api.read).json()
    csv = api.client.get(
        "/api/v1/kpis/team_pulse/observations", headers=api.read, params={"format": "csv"}
    ).text

    assert observed == [
        {"date": "2026-04-06", "value": 7.0, "note": None, "recorded_by": "API key admin"}
    ]
    assert csv.splitlines()[0] == "date,value,note,recorded_by"
