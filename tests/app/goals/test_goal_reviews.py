"""The quarterly review and the daily snapshots behind it, on a manual team-confidence pulse.

Monthly means of the pulse: December 2024 5, January 6, February 6.5, March 7.5. The goal:
from 5 to 7.5 between 1 January and 1 July 2025.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from app.goals.snapshots import SNAPSHOT_JOB, snapshot_job, take_alignment_snapshots
from tests.plan_helpers import written_on

PULSE = [
    {"date": "2024-12-10", "value": 5},
    {"date": "2025-01-15", "value": 6},
    {"date": "2025-02-15", "value": 6.5},
    {"date": "2025-03-15", "value": 7.5},
]


@pytest.fixture
def team(plan: Any) -> dict[str, Any]:
    api = plan.api
    api.client.post(
        "/api/v1/kpis",
        headers=api.admin,
        json={"key": "team_confidence", "name": "Team confidence", "unit": "score"},
    )
    api.client.post("/api/v1/kpis/team_confidence/observations", headers=api.admin, json=PULSE)
    top = plan.objective("Team <confident> & calm", purpose="So the team stops firefighting")
    child = plan.objective("Less reactive in six months", parent_id=top["id"], owner="Sam")
    goal = plan.goal(
        child["id"],
        title="Confidence pulse to 7.5",
        kpi="team_confidence",
        kind="increase",
        baseline=5,
        target=7.5,
    )
    plan.milestone(goal["id"], "2025-01-31", 6.5)  # January 6: missed
    plan.milestone(goal["id"], "2025-02-28", 6.5)  # February 6.5: hit
    plan.milestone(goal["id"], "2025-06-30", 7.5)  # next quarter: not in the review
    plan.check_in(goal_id=goal["id"], date="2025-02-01", confidence=7, note="Runbooks help")
    plan.check_in(objective_id=child["id"], date="2025-03-20", confidence=8, author="Sam")
    plan.check_in(goal_id=goal["id"], date="2025-04-02", confidence=9)  # next quarter
    written_on(api, date(2024, 12, 20))  # the plan was made before the quarter
    return {"top": top, "child": child, "goal": goal, "plan": plan}


def review(team: dict[str, Any], quarter: str = "2025-Q1", **params: Any) -> Any:
    api = team["plan"].api
    return api.client.get(f"/api/v1/reviews/{quarter}", headers=api.read, params=params)


def snapshot(team: dict[str, Any], day: date) -> int:
    context = team["plan"].api.setup.context
    return take_alignment_snapshots(context.db, context.settings, day)


def test_review_json_by_hand(team: dict[str, Any]) -> None:
    body = review(team).json()

    assert (body["quarter"], body["start"], body["end"]) == ("2025-Q1", "2025-01-01", "2025-03-31")
    top, child = body["objectives"]
    assert (top["path"], child["path"]) == (
        ["Team <confident> & calm"],
        ["Team <confident> & calm", "Less reactive in six months"],
    )
    (goal,) = child["goals"]
    # On 1 January, the start, no month since the start is complete: nothing judged yet
    # (December is the baseline, not a month of the goal). 31 March reads March.
    assert goal["start"] == {
        "as_of": "2025-01-01",
        "status": "no_data",
        "status_words": "No data",
        "value": None,
        "progress": None,
        "reason": "Nothing to judge yet: January 2025, the first month since the start, is "
        "still in progress.",
        "from_snapshot": False,
    }
    assert (goal["end"]["status"], goal["end"]["value"]) == ("achieved", 7.5)
    assert goal["kpi_change"] is None  # nothing was judged at the start
    assert goal["status_changed"] is True
    assert body["status_changed"] == [team["goal"]["id"]]
    assert [(m["due_date"], m["status"]) for m in goal["milestones"]] == [
        ("2025-01-31", "missed"),
        ("2025-02-28", "hit"),
    ]
    assert [c["note"] for c in goal["check_ins"]] == ["Runbooks help"]
    assert [c["author"] for c in child["check_ins"]] == ["Sam"]
    assert (top["status_start"], top["status_end"]) == ("no_data", "achieved")
    assert body["added_later"] == []


def test_a_goal_written_after_the_quarter_is_listed_apart_never_graded(
    team: dict[str, Any],
) -> None:
    plan = team["plan"]
    later = plan.goal(
        team["child"]["id"],
        title="Written in 2026",
        kpi="team_confidence",
        kind="stay_above",
        target=5,
    )

    body = review(team).json()

    graded = [g["goal_id"] for o in body["objectives"] for g in o["goals"]]
    assert later["id"] not in graded
    (added,) = body["added_later"]
    assert (added["goal_id"], added["title"]) == (later["id"], "Written in 2026")
    assert added["created_on"] > "2025-03-31"
    # Its objective's roll-up is that of the goals that existed then.
    assert body["objectives"][1]["status_end"] == "achieved"
    markdown = review(team, format="markdown").text
    assert "Added after the quarter" in markdown and "Written in 2026" in markdown


def test_review_as_markdown(team: dict[str, Any]) -> None:
    response = team["plan"].api.client.get(
        "/api/v1/reviews/2025-Q1",
        headers={**team["plan"].api.read, "Accept": "text/markdown"},
    )

    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# Quarterly review 2025-Q1\n")
    assert "## Team \\<confident\\> & calm › Less reactive in six months" in text
    assert (
        "| Goal | KPI | Target | Start | End | Change | Status at start | Status at end |" in text
    )
    assert (
        "| Confidence pulse to 7.5 | Team confidence | increase to 7.5 by 2025-07-01 | — | 7.5 "
        "| — | No data | Achieved (changed) |"
    ) in text
    assert (
        "- Confidence pulse to 7.5: milestone due 2025-01-31, target 6.5: missed (value 6)" in text
    )
    assert "2025-03-20 (Sam), confidence 8/10" in text


def test_review_as_html_a_person_can_read(team: dict[str, Any]) -> None:
    response = review(team, format="html")

    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<h1>Quarterly review 2025-Q1</h1>" in page
    assert "<h2>Team &lt;confident&gt; &amp; calm</h2>" in page
    assert "<h3>Team &lt;confident&gt; &amp; calm › Less reactive in six months</h3>" in page
    assert "<confident>" not in page and "<script" not in page
    # One table per objective with goals of its own (the top one has none).
    assert page.count("<table>") == 1
    assert re.search(r'<span class="status no_data">No data</span>', page)
    assert '<span class="status achieved">Achieved (changed)</span>' in page
    assert "No goals of its own" in page


def test_accept_html_negotiates_the_page(team: dict[str, Any]) -> None:
    api = team["plan"].api
    response = api.client.get(
        "/api/v1/reviews/2025-Q1", headers={**api.read, "Accept": "text/html"}
    )

    assert response.text.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("quarter", "code"),
    [
        ("2025-Q5", "invalid_quarter"),
        ("2025-11", "invalid_quarter"),
        ("Q4", "invalid_quarter"),
        ("2999-Q1", "quarter_not_started"),
    ],
)
def test_a_bad_quarter_is_a_422_that_shows_the_form(
    team: dict[str, Any], quarter: str, code: str
) -> None:
    response = review(team, quarter)

    assert response.status_code == 422
    assert response.json()["code"] == code
    if code == "invalid_quarter":
        assert "2025-Q4" in response.json()["message"]


def test_snapshots_are_idempotent_per_day(team: dict[str, Any]) -> None:
    assert snapshot(team, date(2025, 3, 31)) == 1
    assert snapshot(team, date(2025, 3, 31)) == 0
    assert snapshot(team, date(2025, 4, 1)) == 1


def test_a_review_reads_what_was_known_then(team: dict[str, Any]) -> None:
    plan = team["plan"]
    snapshot(team, date(2025, 1, 1))
    snapshot(team, date(2025, 3, 31))
    # Later, a low March reading arrives: March's mean drops to (7.5 + 1) / 2.
    plan.api.client.post(
        "/api/v1/kpis/team_confidence/observations",
        headers=plan.api.admin,
        json={"date": "2025-03-25", "value": 1},
    )

    (goal,) = review(team).json()["objectives"][1]["goals"]
    url = f"/goals/{team['goal']['id']}/alignment"
    then = plan.get(url, as_of="2025-03-31")
    now = plan.get(url, as_of="2025-04-01")  # no snapshot that day: computed, reads March

    assert (goal["end"]["status"], goal["end"]["value"], goal["end"]["from_snapshot"]) == (
        "achieved",
        7.5,
        True,
    )
    assert goal["start"]["from_snapshot"] is True
    assert goal["status_changes"] == [
        {"day": "2025-03-31", "before": "no_data", "after": "achieved"}
    ]
    assert (then["recorded_on"], then["current_value"], then["status"]) == (
        "2025-03-31",
        7.5,
        "achieved",
    )
    assert then["milestones"][0]["status"] == "missed"  # the rest is computed as usual
    assert (now["recorded_on"], now["current_value"]) == (None, 4.25)


def test_snapshots_fix_a_baseline_once_its_period_has_data(team: dict[str, Any]) -> None:
    plan = team["plan"]
    goal = plan.goal(
        team["child"]["id"],
        title="Later pulse",
        kpi="team_confidence",
        kind="increase",
        target=9,
        start_date="2025-06-01",
        due_date="2025-12-31",
    )
    assert goal["baseline"] is None  # May has no reading yet
    written_on(plan.api, date(2025, 5, 1))

    plan.api.client.post(
        "/api/v1/kpis/team_confidence/observations",
        headers=plan.api.admin,
        json={"date": "2025-05-20", "value": 6},
    )
    snapshot(team, date(2025, 6, 2))

    stored = plan.get(f"/goals/{goal['id']}")
    assert (stored["baseline"], stored["baseline_computed"]) == (6.0, True)


def test_the_scheduler_job_snapshots_yesterday(team: dict[str, Any]) -> None:
    context = team["plan"].api.setup.context
    run, trigger, job_id = snapshot_job(context.db, context.settings)

    run()

    assert job_id == SNAPSHOT_JOB
    assert "minute='5'" in str(trigger)
    yesterday = datetime.now(context.settings.tz).date() - timedelta(days=1)
    assert snapshot(team, yesterday) == 0  # the job took it already
    scheduler = context.make_scheduler()
    assert SNAPSHOT_JOB in [job[2] for job in scheduler._extra_jobs]


def test_the_current_quarter_is_reviewed_up_to_today(team: dict[str, Any]) -> None:
    today = datetime.now(team["plan"].api.setup.context.settings.tz).date()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"

    body = review(team, quarter).json()

    assert body["end"] == today.isoformat()
