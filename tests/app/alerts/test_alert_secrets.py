"""Channel URLs, webhook secrets and SMTP passwords never appear in answers, logs or the
database in clear (every answer is checked by CheckedClient; the log lines by LOG_COLLECTOR,
and once more by the last test of the run)."""

from __future__ import annotations

from typing import Any

from alert_receivers import http_receiver, smtp_receiver
from leak_guard import LOG_COLLECTOR, find_leaks, leak_forms, register_known_secrets
from sqlalchemy import text

TEAMS_PATH = "/workflows/8c1d5e0f9a7b4c2e/triggers/manual/run?sig=Zk3pQw9xLm2vTn7R"
WEBHOOK_SECRET = "whsec-leakcheck-3e8f1a2b7c"
SMTP_PASSWORD = "smtp-leakcheck-6d4c2b1a9f"


def test_channel_secrets_stay_secret(api: Any) -> None:
    register_known_secrets(TEAMS_PATH, WEBHOOK_SECRET, SMTP_PASSWORD)
    first_log_line = len(LOG_COLLECTOR.lines)
    admin = api.admin
    with http_receiver([(500, {"X-Echo": "none"})]) as receiver, smtp_receiver() as box:
        teams_url = receiver.url + TEAMS_PATH
        made = [
            api.client.post(
                "/api/v1/alerts/channels",
                headers=admin,
                json={"name": "Teams", "kind": "teams", "config": {"url": teams_url}},
            ),
            api.client.post(
                "/api/v1/alerts/channels",
                headers=admin,
                json={
                    "name": "Hook",
                    "kind": "webhook",
                    "config": {"url": f"{receiver.url}/h", "secret": WEBHOOK_SECRET},
                },
            ),
            api.client.post(
                "/api/v1/alerts/channels",
                headers=admin,
                json={
                    "name": "Mail",
                    "kind": "email",
                    "config": {
                        "host": box.host,
                        "port": box.port,
                        "security": "none",
                        "password": SMTP_PASSWORD,
                        "from_address": "n@example.com",
                        "to": ["o@example.com"],
                    },
                },
            ),
        ]
        assert [m.status_code for m in made] == [201, 201, 201]
        teams = made[0].json()
        assert teams["settings"] == {"host": "127.0.0.1"}
        assert made[2].json()["settings"]["password_set"] is True
        for channel in made:
            channel_id = channel.json()["id"]
            api.client.post(f"/api/v1/alerts/channels/{channel_id}/test", headers=admin)
            api.client.get(f"/api/v1/alerts/channels/{channel_id}", headers=admin)
            api.client.get(f"/api/v1/alerts/channels/{channel_id}/deliveries", headers=api.read)
        # A bad change is refused without echoing what was sent.
        refused = api.client.patch(
            f"/api/v1/alerts/channels/{teams['id']}",
            headers=admin,
            json={"config": {"url": "ftp:" + TEAMS_PATH}},
        )
        assert refused.status_code == 422
        api.client.get("/api/v1/alerts/channels", headers=admin)
    forms = {
        form
        for secret in (TEAMS_PATH, WEBHOOK_SECRET, SMTP_PASSWORD)
        for form in leak_forms(secret)
    }
    assert not find_leaks("\n".join(LOG_COLLECTOR.lines[first_log_line:]), forms)
    with api.setup.context.db.engine.connect() as connection:
        for table in ("alert_channels", "alert_deliveries", "alert_events"):
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
            assert not find_leaks(repr(rows), forms), table
