"""Issue 15, defect 13: without a key, `/api/v1/health` answers the overall status and
counts only; the sources by name, their states and latest failures need a read key."""

from __future__ import annotations

from typing import Any

from fake_psa import add_fake_source


def fail_a_sync(api: Any) -> None:
    scheduler = api.setup.context.make_scheduler()
    api.setup.api.faults = [(401, {}, "maintenance: this token is refused")] * 50
    scheduler.sync_source(api.setup.source_id)


def test_without_a_key_no_source_is_named(api: Any) -> None:
    add_fake_source(api.setup.context, name="Contoso Autotask")
    fail_a_sync(api)

    response = api.client.get("/api/v1/health")

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "status",
        "database",
        "scheduler",
        "sources_total",
        "sources_failing",
        "sources_stale",
    }
    assert (body["sources_total"], body["sources_failing"]) == (2, 1)
    assert "syncs_in_progress" not in body["scheduler"]
    assert "Contoso" not in response.text and "Fake PSA" not in response.text
    assert "maintenance" not in response.text


def test_with_a_read_key_every_source_shows_its_state_and_latest_failure(api: Any) -> None:
    fail_a_sync(api)

    body = api.client.get("/api/v1/health", headers=api.read).json()

    [source] = body["sources"]
    assert source["name"] == "Fake PSA" and source["status"] == "needs_attention"
    assert source["failing_streams"] >= 1
    assert source["latest_failure"]
    assert body["sources_failing"] == 1


def test_a_wrong_key_is_refused_rather_than_shown_less(api: Any) -> None:
    """A monitor with a mistyped key learns it, instead of silently losing the details."""
    response = api.client.get("/api/v1/health", headers={"X-API-Key": "ns_mistyped"})

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"
