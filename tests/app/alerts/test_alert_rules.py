"""Each kind of rule on real snapshots and real sources, its quiet period, and changing a
rule: milestones hit and missed, a forecast turning to "will not make it", a source not
synced, a manual KPI nobody has entered."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from alert_receivers import http_receiver, made_on

from app.alerts.jobs import run_alerts
from app.db import utcnow
from app.goals.snapshots import take_alignment_snapshots
from app.settings import Settings
from tests.plan_helpers import written_on


def post(api: Any, path: str, body: Any, status: int = 201) -> Any:
    answer = api.client.post(f"/api/v1{path}", headers=api.admin, json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


def channel(api: Any, url: str) -> int:
    config = {"url": url, "secret": "s" * 24}
    body = {"name": "Ops", "kind": "webhook", "config": config, "send_quarterly_review": False}
    created = post(api, "/alerts/channels", body)
    made_on(api, created["id"], date(2025, 12, 1))
    return int(created["id"])


def pulse_goal(api: Any, **goal: Any) -> int:
    post(api, "/kpis", {"key": "team_pulse", "name": "Team pulse", "aggregation": "last"})
    objective = post(api, "/objectives", {"title": "A calm team"})["id"]
    body = {"objective_id": objective, "title": "Pulse", "kpi": "team_pulse", **goal}
    created = post(api, "/goals", body)["id"]
    written_on(api, date(2025, 12, 20))
    return int(created)


def pulses(api: Any, values: dict[date, float]) -> None:
    body = [{"date": day.isoformat(), "value": value} for day, value in values.items()]
    post(api, "/kpis/team_pulse/observations", body, status=200)


def close_days(api: Any, settings: Settings, days: list[date]) -> None:
    """Each day closes: its snapshot is taken, and the alerts job runs half an hour later."""
    context = api.setup.context
    for day in days:
        take_alignment_snapshots(context.db, settings, day)
        moment = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=settings.tz)
        run_alerts(context.db, settings, context.cipher, now=moment + timedelta(minutes=30))


def bodies(receiver: Any) -> list[dict[str, Any]]:
    return [json.loads(p.body) for p in receiver.posts]


def test_milestones_and_a_forecast_that_turns(api: Any, settings: Settings) -> None:
    goal_id = pulse_goal(
        api,
        kind="increase",
        baseline=5,
        target=9,
        start_date="2026-01-01",
        due_date="2026-06-30",
        title="Pulse up to 9",
    )
    post(api, f"/goals/{goal_id}/milestones", {"due_date": "2026-03-31", "target": 8})
    post(api, f"/goals/{goal_id}/milestones", {"due_date": "2026-05-31", "target": 9})
    pulses(
        api,
        {
            date(2026, 1, 15): 6,
            date(2026, 2, 15): 7,
            date(2026, 3, 15): 8,
            date(2026, 4, 15): 8.5,
            date(2026, 5, 15): 5.5,
        },
    )
    with http_receiver() as receiver:
        hook = channel(api, f"{receiver.url}/hook")
        post(api, "/alerts/rules", {"channel_id": hook, "event": "milestone", "goal_id": goal_id})
        post(api, "/alerts/rules", {"channel_id": hook, "event": "forecast_miss"})
        close_days(api, settings, [date(2026, month, 1) for month in range(2, 8)])
    sent = bodies(receiver)
    # Rule by rule (the milestone rule first), day by day.
    assert [(b["kind"], b["data"]["day"]) for b in sent] == [
        ("milestone", "2026-04-01"),
        ("milestone", "2026-06-01"),
        ("forecast_miss", "2026-06-01"),
    ]
    by_kind = {(b["kind"], b["data"].get("milestone", {}).get("status")): b for b in sent}
    hit = by_kind["milestone", "hit"]
    assert hit["summary"].startswith("the milestone due 2026-03-31 of Pulse up to 9 was hit")
    assert "value 8" in hit["summary"] and "target 8" in hit["summary"]
    missed = by_kind["milestone", "missed"]
    assert "2026-05-31" in missed["summary"] and "was missed" in missed["summary"]
    forecast = by_kind["forecast_miss", None]
    assert forecast["title"] == "Pulse up to 9: will not make it"
    assert "28 % chance of reaching 9" in forecast["explanation"]  # the forecast's own words
    assert forecast["facts"]["Forecast at due date"] == "7.75"


def test_a_source_not_synced_is_said_once(api: Any, settings: Settings) -> None:
    context = api.setup.context
    with http_receiver() as receiver:
        hook = channel(api, f"{receiver.url}/hook")
        post(api, "/alerts/rules", {"channel_id": hook, "event": "source_stale", "hours": 6})
        start = utcnow()
        for hours in (1, 5, 7, 8, 30):
            run_alerts(context.db, settings, context.cipher, now=start + timedelta(hours=hours))
    (alert,) = bodies(receiver)
    assert alert["kind"] == "source_stale"
    assert alert["summary"].endswith("has not synced for more than 6 hours.")
    assert alert["facts"]["Last successful sync"] == "never"


def test_a_manual_kpi_nobody_entered(api: Any, settings: Settings) -> None:
    context = api.setup.context
    goal_id = pulse_goal(
        api, kind="stay_above", target=7, start_date="2026-02-01", due_date="2026-06-30"
    )
    post(api, f"/goals/{goal_id}/milestones", {"due_date": "2026-05-31", "target": 7})
    pulses(api, {date(2026, 3, 2): 8})
    with http_receiver() as receiver:
        hook = channel(api, f"{receiver.url}/hook")
        rule = {"channel_id": hook, "event": "manual_quiet", "weeks": 2, "goal_id": goal_id}
        post(api, "/alerts/rules", rule)
        at = lambda day: datetime.combine(day, datetime.min.time(), tzinfo=settings.tz)  # noqa: E731
        for day in (date(2026, 3, 10), date(2026, 3, 17), date(2026, 3, 18)):
            run_alerts(context.db, settings, context.cipher, now=at(day) + timedelta(hours=9))
        assert len(receiver.posts) == 1  # once, not every day it stays quiet
        pulses(api, {date(2026, 3, 20): 7.5})
        for day in (date(2026, 3, 25), date(2026, 4, 5)):
            run_alerts(context.db, settings, context.cipher, now=at(day) + timedelta(hours=9))
    first, second = bodies(receiver)
    assert first["summary"].startswith("Nobody has entered Team pulse for Pulse in 2 weeks")
    assert first["facts"]["Last value entered"] == "2026-03-02"
    assert first["facts"]["Next milestone"] == "2026-05-31"
    assert second["facts"]["Last value entered"] == "2026-03-20"


def test_quiet_period_holds_back_a_repeat_not_an_escalation(api: Any, settings: Settings) -> None:
    goal_id = pulse_goal(
        api,
        kind="stay_above",
        target=7,
        start_date="2026-02-01",
        due_date="2026-06-30",
        judge_partial=True,
    )
    days = [date(2026, 3, d) for d in range(1, 6)]
    with http_receiver() as receiver:
        hook = channel(api, f"{receiver.url}/hook")
        rule = {
            "channel_id": hook,
            "event": "status_change",
            "goal_id": goal_id,
            "to_statuses": ["at_risk", "off_track"],
            "quiet_hours": 72,
        }
        post(api, "/alerts/rules", rule)
        # on track, at risk, on track, at risk again (held back: 48 h), off track (said)
        for day, value in zip(days, [8, 6.8, 8, 6.8, 5], strict=True):
            pulses(api, {day: value})
            close_days(api, settings, [day])
    assert [(b["data"]["to"], b["data"]["day"]) for b in bodies(receiver)] == [
        ("at_risk", "2026-03-02"),
        ("off_track", "2026-03-05"),
    ]


def test_changing_a_rule(api: Any, settings: Settings) -> None:
    with http_receiver() as receiver:
        hook = channel(api, f"{receiver.url}/hook")
    rule = post(api, "/alerts/rules", {"channel_id": hook, "event": "status_change"})
    url = f"/api/v1/alerts/rules/{rule['id']}"
    patch = lambda body: api.client.patch(url, headers=api.admin, json=body)  # noqa: E731

    changed = patch({"to_statuses": ["off_track"], "quiet_hours": 6, "name": "Only the worst"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["options"] == {"from_statuses": [], "to_statuses": ["off_track"]}
    assert (changed.json()["quiet_hours"], changed.json()["name"]) == (6, "Only the worst")

    wrong = patch({"hours": 6})
    assert wrong.status_code == 422
    assert wrong.json()["message"] == (
        "A status_change rule has no hours filter (its filters: from_statuses, to_statuses)."
    )
    assert patch({"quiet_hours": None}).status_code == 422
    assert patch({"event": "milestone"}).status_code == 422  # the event stays
    assert patch({"enabled": False}).json()["enabled"] is False
    assert api.client.patch(url, headers=api.read, json={"enabled": True}).status_code == 403
    missing = api.client.patch("/api/v1/alerts/rules/999", headers=api.admin, json={})
    assert missing.status_code == 404


def test_an_archived_goal_is_not_alerted_on(api: Any, settings: Settings) -> None:
    goal_id = pulse_goal(
        api,
        kind="stay_above",
        target=7,
        start_date="2026-02-01",
        due_date="2026-06-30",
        judge_partial=True,
    )
    objective = api.client.get(f"/api/v1/goals/{goal_id}", headers=api.admin).json()
    twin = {
        "objective_id": objective["objective_id"],
        "title": "Pulse, archived",
        "kpi": "team_pulse",
        "kind": "stay_above",
        "target": 7,
        "start_date": "2026-02-01",
        "due_date": "2026-06-30",
        "judge_partial": True,
    }
    archived_id = post(api, "/goals", twin)["id"]
    written_on(api, date(2025, 12, 20))
    context = api.setup.context
    with http_receiver() as receiver:
        hook = channel(api, f"{receiver.url}/hook")
        post(api, "/alerts/rules", {"channel_id": hook, "event": "status_change"})
        pulses(api, {date(2026, 3, 1): 8})
        close_days(api, settings, [date(2026, 3, 1)])
        pulses(api, {date(2026, 3, 2): 6.8})
        # Both goals drift on 2 March; one is archived before the alerts job looks.
        take_alignment_snapshots(context.db, settings, date(2026, 3, 2))
        post(api, f"/goals/{archived_id}/archive", None, status=200)
        moment = datetime(2026, 3, 3, 0, 30, tzinfo=settings.tz)
        run_alerts(context.db, settings, context.cipher, now=moment)
    assert [(b["goal_id"], b["data"]["to"]) for b in bodies(receiver)] == [(goal_id, "at_risk")]
