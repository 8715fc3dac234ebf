"""Each kind of channel against a real receiver on loopback: Teams (Adaptive Card checked
against its schema), Slack (Block Kit), the signed webhook (verified as docs/alerts.md says)
and e-mail through a real SMTP server; retries on 429 (honouring Retry-After) and 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
from alert_receivers import http_receiver, smtp_receiver

from app.alerts.outbox import deliver_due
from app.db import utcnow

SCHEMA = Path(__file__).with_name("adaptive-card-1.5.schema.json")


def add_channel(api: Any, kind: str, config: dict[str, Any], name: str = "C") -> int:
    answer = api.client.post(
        "/api/v1/alerts/channels",
        headers=api.admin,
        json={"name": name, "kind": kind, "config": config},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def send_test(api: Any, channel_id: int) -> dict[str, Any]:
    answer = api.client.post(f"/api/v1/alerts/channels/{channel_id}/test", headers=api.admin)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def history(api: Any, channel_id: int) -> list[dict[str, Any]]:
    answer = api.client.get(f"/api/v1/alerts/channels/{channel_id}/deliveries", headers=api.read)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_teams_retries_429_then_500_then_delivers_an_adaptive_card_once(api: Any) -> None:
    context = api.setup.context
    script = [(429, {"Retry-After": "7"}), (500, {})]
    with http_receiver(script) as teams:
        channel_id = add_channel(api, "teams", {"url": f"{teams.url}/workflows/run-7f3e2a9b"})
        started = utcnow()
        first = send_test(api, channel_id)
        assert first["status"] == "pending"
        assert first["last_error"].startswith("HTTP 429")
        assert "retry in 7 s" in first["history"][0]["next"]
        # Not due before the Retry-After has passed.
        assert deliver_due(context.db, context.cipher, now=started + timedelta(seconds=3)) == 0
        assert len(teams.posts) == 1
        assert deliver_due(context.db, context.cipher, now=started + timedelta(seconds=9)) == 1
        assert teams.posts[-1].answered == 500
        later = started + timedelta(seconds=9 + 61)
        assert deliver_due(context.db, context.cipher, now=later) == 1
        assert deliver_due(context.db, context.cipher, now=later + timedelta(hours=2)) == 0
    assert [p.answered for p in teams.posts] == [429, 500, 200]
    keys = {p.headers["X-Northstar-Idempotency-Key"] for p in teams.posts}
    assert len(keys) == 1
    assert all(p.path == "/workflows/run-7f3e2a9b" for p in teams.posts)
    payload = json.loads(teams.delivered()[0].body)
    card = payload["attachments"][0]["content"]
    assert payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    errors = [error.message for error in validator.iter_errors(card)]
    assert errors == []
    assert card["body"][0]["text"] == "Northstar test message"
    (delivery,) = history(api, channel_id)
    assert delivery["status"] == "sent"
    assert delivery["attempts"] == 3
    assert [h["next"] for h in delivery["history"]][-1] == "sent"


def test_an_invalid_card_fails_the_schema() -> None:
    """The schema check is not vacuous: a card with an unknown element is refused."""
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    bad = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Marquee", "x": 1}]}
    assert not validator.is_valid(bad)


def test_slack_gets_block_kit(api: Any) -> None:
    with http_receiver() as slack:
        channel_id = add_channel(api, "slack", {"url": f"{slack.url}/services/T0/B0/xyz123"})
        assert send_test(api, channel_id)["status"] == "sent"
    body = json.loads(slack.posts[0].body)
    assert body["text"].startswith("Northstar test message")
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Northstar test message"},
    }
    assert {block["type"] for block in body["blocks"]} <= {
        "header",
        "section",
        "context",
        "actions",
    }


def verify_as_the_docs_say(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """docs/alerts.md, section 4, written out by a receiver."""
    timestamp = headers["X-Northstar-Timestamp"]
    expected = (
        "sha256="
        + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    fresh = abs(time.time() - int(timestamp)) <= 300
    return fresh and hmac.compare_digest(expected, headers["X-Northstar-Signature"])


def test_the_webhook_is_signed_as_documented(api: Any) -> None:
    secret = "whsec-northstar-4b1f0c9e"
    with http_receiver([(503, {})]) as receiver:
        channel_id = add_channel(
            api, "webhook", {"url": f"{receiver.url}/hooks/ns", "secret": secret}
        )
        assert send_test(api, channel_id)["status"] == "pending"
        context = api.setup.context
        assert deliver_due(context.db, context.cipher, now=utcnow() + timedelta(minutes=5)) == 1
    assert len(receiver.posts) == 2
    for post in receiver.posts:
        assert verify_as_the_docs_say(secret, post.headers, post.body)
        assert not verify_as_the_docs_say("another-secret-000000", post.headers, post.body)
        tampered = post.body.replace(b"test", b"TEST")
        assert not verify_as_the_docs_say(secret, post.headers, tampered)
    body = json.loads(receiver.posts[1].body)
    assert body["kind"] == "test"
    assert body["idempotency_key"] == receiver.posts[1].headers["X-Northstar-Idempotency-Key"]
    assert receiver.posts[0].headers["X-Northstar-Idempotency-Key"] == body["idempotency_key"]


def test_a_refused_url_is_not_retried(api: Any) -> None:
    with http_receiver([(404, {})]) as teams:
        channel_id = add_channel(api, "teams", {"url": f"{teams.url}/gone-flow-123"})
        answer = send_test(api, channel_id)
        context = api.setup.context
        assert deliver_due(context.db, context.cipher, now=utcnow() + timedelta(hours=3)) == 0
    assert answer["status"] == "failed"
    assert answer["last_error"].startswith("HTTP 404")
    assert len(teams.posts) == 1


def test_email_arrives_with_html_and_text_parts(api: Any) -> None:
    password = "smtp-pass-9d8c7b6a"
    with smtp_receiver(username="alerts@example.com", password=password) as box:
        channel_id = add_channel(
            api,
            "email",
            {
                "host": box.host,
                "port": box.port,
                "security": "none",
                "username": "alerts@example.com",
                "password": password,
                "from_address": "northstar@example.com",
                "to": ["owner@example.com", "bi@example.com"],
            },
        )
        delivery = send_test(api, channel_id)
    assert delivery["status"] == "sent", delivery
    (mail,) = box.messages
    assert box.logins == [("alerts@example.com", password)]
    assert mail["Subject"] == "Northstar test message"
    assert mail["To"] == "owner@example.com, bi@example.com"
    assert mail["Message-ID"] == f"<{delivery['idempotency_key']}@northstar.alerts>"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and "This is a test" in text.get_content()
    assert html is not None and "<h2>Northstar test message</h2>" in html.get_content()
