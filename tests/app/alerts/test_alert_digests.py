"""The weekly digest and the quarterly review, sent by the alerts job as e-mails through a real
SMTP server on loopback that requires STARTTLS, or TLS from the first byte."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alert_receivers import made_on, self_signed_certificate, smtp_receiver

from app.alerts.jobs import run_alerts
from app.goals.snapshots import take_alignment_snapshots
from app.settings import Settings
from tests.plan_helpers import written_on

PASSWORD = "mail-pass-51e0c2"
BASE = "https://northstar.example.com"


def post(api: Any, path: str, body: Any) -> Any:
    answer = api.client.post(f"/api/v1{path}", headers=api.admin, json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def pulse_goal(api: Any) -> int:
    """A team pulse to hold at 7 or above, judged on the month so far, from 1 February."""
    post(api, "/kpis", {"key": "team_pulse", "name": "Team pulse", "aggregation": "last"})
    objective = post(api, "/objectives", {"title": "A calm team"})["id"]
    goal = post(
        api,
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
    )["id"]
    written_on(api, date(2026, 1, 20))
    return int(goal)


def email_channel(api: Any, box: Any, security: str, ca_file: Path, **extra: Any) -> int:
    config = {
        "host": box.host,
        "port": box.port,
        "security": security,
        "username": "alerts@example.com",
        "password": PASSWORD,
        "from_address": "northstar@example.com",
        "to": ["owner@example.com"],
        "tls_ca_file": str(ca_file),
    }
    return int(
        post(
            api, "/alerts/channels", {"name": "Owner", "kind": "email", "config": config, **extra}
        )["id"]
    )


def days(api: Any, settings: Settings, first: date, last: date, pulses: dict[date, float]) -> None:
    """Each day: its pulse at 09:00, then the snapshot and alerts jobs as they run hourly."""
    context = api.setup.context
    day = first
    while day <= last:
        if day in pulses:
            post(
                api,
                "/kpis/team_pulse/observations",
                [{"date": day.isoformat(), "value": pulses[day]}],
            )
        for hour in range(24):
            moment = datetime.combine(day, datetime.min.time(), tzinfo=settings.tz) + timedelta(
                hours=hour
            )
            take_alignment_snapshots(context.db, settings, day - timedelta(days=1))
            run_alerts(context.db, settings, context.cipher, now=moment + timedelta(minutes=30))
        day += timedelta(days=1)


def test_the_weekly_digest_arrives_over_starttls(
    api: Any, settings: Settings, tmp_path: Path
) -> None:
    linked = settings.model_copy(update={"public_base_url": BASE})
    certificate = self_signed_certificate(tmp_path)
    goal_id = pulse_goal(api)
    with smtp_receiver(
        "alerts@example.com", PASSWORD, security="starttls", certificate=certificate
    ) as box:
        # Digests on Mondays at 08:00; 2 March 2026 is a Monday.
        channel = email_channel(
            api,
            box,
            "starttls",
            certificate[0],
            digest_weekday=1,
            digest_time="08:00",
            send_quarterly_review=False,
        )
        made_on(api, channel, date(2026, 3, 1))
        pulses = {date(2026, 3, 2): 8.0, date(2026, 3, 4): 6.8, date(2026, 3, 6): 5.0}
        days(api, linked, date(2026, 3, 2), date(2026, 3, 9), pulses)
    assert box.logins == [("alerts@example.com", PASSWORD)] * len(box.messages)
    subjects = [m["Subject"] for m in box.messages]
    assert subjects == [
        "Northstar weekly digest, 2026-03-02",
        "Northstar weekly digest, 2026-03-09",
    ]
    text = box.messages[1].get_body(preferencelist=("plain",)).get_content()
    # What changed since the last digest, worst first, with the alignment's own sentence.
    assert "Pulse at 7 or above: On track → Off track" in text
    needs_attention = text.split("Needs attention first", 1)[1].split("What changed", 1)[0]
    assert (
        "Pulse at 7 or above: Off track. March 2026 was 5, 2 under the 7 to hold" in needs_attention
    )
    assert "Pulse at 7 or above: last check-in never" in text  # a check-in is due
    html = box.messages[1].get_body(preferencelist=("html",)).get_content()
    assert f"{BASE}/goals" in html
    assert goal_id


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_the_quarterly_review_arrives_as_a_document(
    api: Any, settings: Settings, tmp_path: Path, security: str
) -> None:
    linked = settings.model_copy(update={"public_base_url": BASE})
    certificate = self_signed_certificate(tmp_path)
    pulse_goal(api)
    post(api, "/kpis/team_pulse/observations", [{"date": "2026-03-20", "value": 8}])
    with smtp_receiver(
        "alerts@example.com", PASSWORD, security=security, certificate=certificate
    ) as box:
        made_on(api, email_channel(api, box, security, certificate[0]), date(2026, 3, 1))
        # The quarter closes on 31 March; the first runs of April send its review, once.
        days(api, linked, date(2026, 3, 31), date(2026, 4, 2), {})
    (mail,) = box.messages
    assert mail["Subject"] == "Quarterly review 2026-Q1"
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "northstar-review-2026-Q1.html"
    document = attachment.get_content()
    assert "Pulse at 7 or above" in document and "2026-Q1" in document
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"{BASE}/api/v1/reviews/2026-Q1?format=html" in body


def test_a_review_long_after_its_quarter_is_not_sent(
    api: Any, settings: Settings, tmp_path: Path
) -> None:
    """A channel created in May does not post Q1's review; Q2's comes in July."""
    certificate = self_signed_certificate(tmp_path)
    pulse_goal(api)
    with smtp_receiver(
        "alerts@example.com", PASSWORD, security="tls", certificate=certificate
    ) as box:
        made_on(api, email_channel(api, box, "tls", certificate[0]), date(2026, 5, 1))
        days(api, settings, date(2026, 5, 10), date(2026, 5, 11), {})
        assert box.messages == []
        days(api, settings, date(2026, 7, 1), date(2026, 7, 1), {})
    assert [m["Subject"] for m in box.messages] == ["Quarterly review 2026-Q2"]
