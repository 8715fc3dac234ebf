"""Alerts over simulated days, and a process killed between the event and its delivery.

The scheduler's alerts job (`run_alerts`) runs every hour of each simulated day; each day's
alignment snapshot appears at 00:05 the next day, as the snapshot job writes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from alert_receivers import http_receiver, made_on
from sqlalchemy import select

from app.alerts.jobs import run_alerts
from app.alerts.models import AlertDelivery, AlertEvent
from app.goals.models import AlignmentSnapshot
from app.goals.snapshots import take_alignment_snapshots
from app.settings import Settings
from tests.plan_helpers import written_on

BASE = "https://northstar.example.com"
FIRST_DAY = date(2026, 3, 2)
REASON = {
    "on_track": "Tickets closed is 40 against an expected 38 by now: on pace.",
    "at_risk": "Tickets closed is 33 against an expected 38 by now: behind, within reach.",
    "off_track": "Tickets closed is 25 against an expected 40 by now: far behind.",
}


def plan(api: Any, url: str) -> tuple[int, int]:
    post = lambda path, body: api.client.post(f"/api/v1{path}", headers=api.admin, json=body)  # noqa: E731
    objective = post("/objectives", {"title": "Clients trust us"}).json()["id"]
    goal = post(
        "/goals",
        {
            "objective_id": objective,
            "title": "Tickets closed up",
            "kpi": "tickets_closed",
            "kind": "increase",
            "baseline": 10,
            "target": 60,
            "start_date": "2026-01-01",
            "due_date": "2026-06-30",
        },
    ).json()["id"]
    channel = post(
        "/alerts/channels",
        {
            "name": "Ops",
            "kind": "webhook",
            "config": {"url": url, "secret": "s" * 24},
            "send_quarterly_review": False,
        },
    ).json()["id"]
    rule = post(
        "/alerts/rules",
        {
            "channel_id": channel,
            "event": "status_change",
            "objective_id": objective,
            "to_statuses": ["at_risk", "off_track"],
        },
    )
    assert rule.status_code == 201, rule.text
    return goal, channel


def snapshot(goal_id: int, day: date, status: str) -> AlignmentSnapshot:
    return AlignmentSnapshot(
        goal_id=goal_id,
        day=day,
        status=status,
        progress=0.5,
        expected_progress=0.55,
        current_value=35.0,
        baseline=10.0,
        reason=REASON[status],
        detail={"milestones": []},
    )


def pulse_plan(api: Any, url: str) -> int:
    """A weekly-pulse goal judged on the month so far, and a channel told of drifts."""
    post = lambda path, body: api.client.post(f"/api/v1{path}", headers=api.admin, json=body)  # noqa: E731
    kpi = {"key": "team_pulse", "name": "Team pulse", "unit": "score", "aggregation": "last"}
    assert post("/kpis", kpi).status_code == 201
    objective = post("/objectives", {"title": "A calm team"}).json()["id"]
    goal = post(
        "/goals",
        {
            "objective_id": objective,
            "title": "Pulse at 7 or above",
            "kpi": "team_pulse",
            "kind": "stay_above",
            "target": 7,
            "start_date": "2026-02-01",
            "due_date": "2026-06-30",
            "judge_partial": True,
        },
    ).json()["id"]
    written_on(api, date(2026, 1, 20))
    channel = post(
        "/alerts/channels",
        {"name": "Ops", "kind": "webhook", "config": {"url": url, "secret": "s" * 24}},
    ).json()["id"]
    made_on(api, channel, date(2026, 1, 20))
    rule = {"channel_id": channel, "event": "status_change", "goal_id": goal}
    assert (
        post("/alerts/rules", {**rule, "to_statuses": ["at_risk", "off_track"]}).status_code == 201
    )
    return int(goal)


# (day of March 2026, hour in the reporting time zone) -> the pulse recorded then, for that day.
PULSES = {
    (2, 8): 8.0,  # on track
    (3, 9): 6.8,  # at risk, and the day closes so
    (4, 10): 8.0,  # back on track
    (5, 11): 5.0,  # off track for a few hours...
    (5, 15): 8.0,  # ...and back on track before the day closes: no message
    (6, 10): 5.0,  # off track two days after it came back, and stays so
}


def test_one_message_per_drift_over_simulated_days(api: Any, settings: Settings) -> None:
    """The real snapshot job and alerts job, hour by hour, over a week of recorded pulses."""
    context = api.setup.context
    linked = settings.model_copy(update={"public_base_url": BASE})
    tz = linked.tz
    sent_at: list[datetime] = []
    live: dict[tuple[int, int], str] = {}
    with http_receiver() as receiver:
        goal_id = pulse_plan(api, f"{receiver.url}/hook")
        for day in range(2, 9):
            for hour in range(24):
                moment = datetime(2026, 3, day, hour, tzinfo=tz)
                if (day, hour) in PULSES:
                    pulse = [{"date": moment.date().isoformat(), "value": PULSES[day, hour]}]
                    recorded = api.client.post(
                        "/api/v1/kpis/team_pulse/observations", headers=api.admin, json=pulse
                    )
                    assert recorded.status_code == 200, recorded.text
                    alignment = api.client.get(
                        f"/api/v1/goals/{goal_id}/alignment",
                        headers=api.read,
                        params={"as_of": moment.date().isoformat()},
                    )
                    live[day, hour] = alignment.json()["status"]
                # As the snapshot job does at :05 past each hour: yesterday's, once.
                yesterday = (moment + timedelta(minutes=5)).date() - timedelta(days=1)
                take_alignment_snapshots(context.db, linked, yesterday)
                before = len(receiver.posts)
                run_alerts(context.db, linked, context.cipher, now=moment + timedelta(minutes=30))
                sent_at += [moment] * (len(receiver.posts) - before)

    assert live[5, 11] == "off_track" and live[5, 15] == "on_track"  # it really flapped
    bodies = [json.loads(post.body) for post in receiver.posts]
    assert [(b["data"]["from"], b["data"]["to"], b["data"]["day"]) for b in bodies] == [
        ("on_track", "at_risk", "2026-03-03"),
        ("on_track", "off_track", "2026-03-06"),
    ]
    # Each is sent within the first hour after its day closed, never before.
    assert sent_at == [datetime(2026, 3, 4, 0, tzinfo=tz), datetime(2026, 3, 7, 0, tzinfo=tz)]
    at_risk = bodies[0]
    assert at_risk["summary"] == "Pulse at 7 or above went from On track to At risk."
    with context.db.session() as session:
        reason = session.scalar(
            select(AlignmentSnapshot.reason).where(
                AlignmentSnapshot.goal_id == goal_id, AlignmentSnapshot.day == date(2026, 3, 3)
            )
        )
    assert at_risk["explanation"] == reason  # the alignment's own sentence, as given
    assert "6.8" in at_risk["explanation"]
    assert at_risk["link"] == f"{BASE}/goals/{goal_id}"
    assert at_risk["facts"]["Target"] == "7"


CHILD = """
import os, signal, sys
from datetime import datetime
from app.alerts.evaluate import evaluate_rules
from app.alerts.outbox import _claim
from app.alerts.models import AlertDelivery
from app.db import Database
from app.settings import Settings
from sqlalchemy import select

url, stage, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
settings = Settings(_env_file=None, database_url=url)
db = Database(url)
with db.session() as session:
    evaluate_rules(session, settings, through=now.date().fromordinal(now.toordinal() - 1), now=now)
if stage == "claimed":
    with db.session() as session:
        ids = list(session.scalars(select(AlertDelivery.id)))
    for delivery_id in ids:
        _claim(db, delivery_id, now)
os.kill(os.getpid(), signal.SIGKILL)  # dies before anything is sent
"""


def run_child(settings: Settings, stage: str, now: datetime) -> None:
    assert settings.encryption_key is not None
    key = settings.encryption_key.get_secret_value()
    environment = {**os.environ, "NORTHSTAR_ENCRYPTION_KEY": key}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, settings.database_url, stage, now.isoformat()],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_killed_after_the_event_delivers_exactly_once(api: Any, settings: Settings) -> None:
    context = api.setup.context
    with http_receiver() as receiver:
        goal_id, _channel = plan(api, f"{receiver.url}/hook")
        with context.db.session() as session:
            session.add(snapshot(goal_id, FIRST_DAY, "on_track"))
            session.add(snapshot(goal_id, FIRST_DAY + timedelta(days=1), "off_track"))
        now = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
        run_child(settings, "evaluated", now)
        with context.db.session() as session:
            assert len(list(session.scalars(select(AlertEvent)))) == 1
            (delivery,) = session.scalars(select(AlertDelivery))
            assert delivery.status == "pending"
        for minutes in (1, 2, 30):  # the restarted service's job, run after run
            run_alerts(context.db, settings, context.cipher, now=now + timedelta(minutes=minutes))
    assert len(receiver.posts) == 1
    assert json.loads(receiver.posts[0].body)["data"]["to"] == "off_track"


def test_killed_while_sending_is_sent_again_after_the_lease(api: Any, settings: Settings) -> None:
    context = api.setup.context
    with http_receiver() as receiver:
        goal_id, _channel = plan(api, f"{receiver.url}/hook")
        with context.db.session() as session:
            session.add(snapshot(goal_id, FIRST_DAY, "on_track"))
            session.add(snapshot(goal_id, FIRST_DAY + timedelta(days=1), "at_risk"))
        now = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
        run_child(settings, "claimed", now)
        run_alerts(context.db, settings, context.cipher, now=now + timedelta(minutes=5))
        assert receiver.posts == []  # still within the lease: maybe being sent elsewhere
        for minutes in (11, 12, 60):
            run_alerts(context.db, settings, context.cipher, now=now + timedelta(minutes=minutes))
    assert len(receiver.posts) == 1
    with context.db.session() as session:
        (delivery,) = session.scalars(select(AlertDelivery))
        assert delivery.status == "sent"
        assert delivery.attempts == 2  # the lost attempt, and the one that was sent
