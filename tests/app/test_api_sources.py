"""The sources API: validation that names the field, masking, check, sync and runs."""

from __future__ import annotations

from typing import Any

import pytest
from fake_psa import TOKEN
from sqlalchemy import select

from app.sources.models import Source

NEW_TOKEN = "rotated-fake-psa-token-21b8e4"


def create(api: Any, **overrides: Any) -> Any:
    body = {"name": "Second PSA", "kind": "fakepsa", "config": {"api_token": TOKEN}, **overrides}
    return api.client.post("/api/v1/sources", headers=api.admin, json=body)


def test_create_a_source_masks_its_secrets(api: Any) -> None:
    response = create(api)

    assert response.status_code == 201
    body = response.json()
    assert body["config"]["api_token"] == "********"
    assert body["config"]["page_size"] == 10
    assert body["status"] == "active"
    assert body["fast_interval_minutes"] == 5 and body["slow_interval_minutes"] == 60


def test_secrets_are_encrypted_at_rest(api: Any) -> None:
    source_id = create(api).json()["id"]
    with api.setup.context.db.session() as session:
        source = session.scalar(select(Source).where(Source.id == source_id))
        assert source is not None
        assert TOKEN not in str(source.config)
        assert TOKEN not in source.secrets_encrypted
        assert "api_token" not in source.config


def test_bad_source_config_is_a_422_naming_the_field(api: Any) -> None:
    response = create(api, config={"api_token": TOKEN, "page_size": "lots"})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_source_config"
    assert body["details"][0]["field"] == "config.page_size"
    assert "config.page_size" in body["message"]


def test_a_missing_credential_is_a_422_naming_the_field(api: Any) -> None:
    response = create(api, config={})

    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "config.api_token", "problem": "Field required"}
    ]


def test_an_unknown_kind_is_a_422_listing_the_installed_ones(api: Any) -> None:
    response = create(api, kind="halopsa")

    assert response.status_code == 422
    assert response.json()["code"] == "unknown_connector"
    assert "fakepsa" in response.json()["message"]


def test_a_malformed_body_is_a_422_naming_the_field(api: Any) -> None:
    response = api.client.post(
        "/api/v1/sources", headers=api.admin, json={"name": "", "kind": "fakepsa"}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert {d["field"] for d in body["details"]} == {"body.name", "body.config"}


def test_a_duplicate_name_is_a_409(api: Any) -> None:
    response = create(api, name="Fake PSA")

    assert response.status_code == 409
    assert response.json()["code"] == "source_name_taken"


def test_update_keeps_a_secret_sent_back_masked(api: Any) -> None:
    source_id = api.setup.source_id
    response = api.client.patch(
        f"/api/v1/sources/{source_id}",
        headers=api.admin,
        json={"config": {"api_token": "********", "page_size": 20}},
    )

    assert response.status_code == 200
    assert response.json()["config"]["page_size"] == 20
    check = api.client.post(f"/api/v1/sources/{source_id}/check", headers=api.admin)
    assert (check.json()["ok"], check.json()["message"]) == (True, "Connected to Fake PSA.")


def test_check_reports_refused_credentials_and_editing_them_clears_the_flag(api: Any) -> None:
    source_id = api.setup.source_id
    api.setup.api.token = NEW_TOKEN  # the MSP rotated the key in the PSA

    check = api.client.post(f"/api/v1/sources/{source_id}/check", headers=api.admin)

    assert check.status_code == 200
    assert check.json()["ok"] is False
    assert check.json()["code"] == "psa_auth_failed"
    shown = api.client.get(f"/api/v1/sources/{source_id}", headers=api.read).json()
    assert shown["status"] == "needs_attention"
    fixed = api.client.patch(
        f"/api/v1/sources/{source_id}", headers=api.admin, json={"config": {"api_token": NEW_TOKEN}}
    )
    assert fixed.json()["status"] == "active"
    assert fixed.json()["config"]["api_token"] == "********"


def test_sync_now_is_accepted_and_recorded(api: Any) -> None:
    source_id = api.setup.source_id

    response = api.client.post(f"/api/v1/sources/{source_id}/sync", headers=api.admin)

    assert response.status_code == 202
    assert response.json()["source_id"] == source_id
    shown = api.client.get(f"/api/v1/sources/{source_id}", headers=api.read).json()
    assert shown["sync_requested_at"] == response.json()["requested_at"]


@pytest.mark.anyio
async def test_runs_list_newest_first(api: Any) -> None:
    await api.setup.context.runner.sync_source(api.setup.source_id, trigger="cli")

    response = api.client.get(
        f"/api/v1/sources/{api.setup.source_id}/runs?limit=2", headers=api.read
    )

    assert response.status_code == 200
    assert [r["stream"] for r in response.json()] == ["ticket_sweep", "tickets"]
    assert response.json()[1]["records"] == 35


def test_runs_of_a_missing_source_is_a_404(api: Any) -> None:
    response = api.client.get("/api/v1/sources/999/runs", headers=api.read)

    assert response.status_code == 404
    assert response.json()["code"] == "source_not_found"


def test_a_bad_limit_is_a_422(api: Any) -> None:
    response = api.client.get(
        f"/api/v1/sources/{api.setup.source_id}/runs?limit=0", headers=api.read
    )

    assert response.status_code == 422
    assert "query field 'limit'" in response.json()["message"]


def test_delete_removes_the_source(api: Any) -> None:
    source_id = create(api).json()["id"]

    assert api.client.delete(f"/api/v1/sources/{source_id}", headers=api.admin).status_code == 204
    assert api.client.get(f"/api/v1/sources/{source_id}", headers=api.read).status_code == 404


def test_connectors_list_their_config_schema(api: Any) -> None:
    response = api.client.get("/api/v1/connectors", headers=api.read)

    assert response.status_code == 200
    (fake,) = response.json()
    assert fake["kind"] == "fakepsa"
    assert fake["streams"] == ["clients", "tickets", "ticket_sweep"]
    assert "api_token" in fake["config_schema"]["properties"]


@pytest.mark.anyio
async def test_every_sources_list_comes_as_csv_too(api: Any) -> None:
    await api.setup.context.runner.sync_source(api.setup.source_id, trigger="cli")
    csv_headers = {**api.read, "Accept": "text/csv"}

    sources = api.client.get("/api/v1/sources", headers=csv_headers)
    runs = api.client.get(
        f"/api/v1/sources/{api.setup.source_id}/runs?format=csv", headers=api.read
    )
    connectors = api.client.get("/api/v1/connectors?format=csv", headers=api.read)

    assert sources.headers["content-type"].startswith("text/csv")
    assert sources.text.splitlines()[0].startswith("id,name,kind,status,")
    assert sources.text.splitlines()[1].startswith(
        f"{api.setup.source_id},Fake PSA,fakepsa,active,"
    )
    assert TOKEN not in sources.text
    assert [line.split(",")[1] for line in runs.text.splitlines()[1:]] == [
        "ticket_sweep",
        "tickets",
        "clients",
    ]
    assert connectors.text.splitlines() == [
        "kind,name,streams",
        "fakepsa,Fake PSA,clients tickets ticket_sweep",
    ]


@pytest.mark.anyio
async def test_sources_show_which_days_of_the_psa_they_hold(api: Any) -> None:
    source_id = api.setup.source_id
    before = api.client.get(f"/api/v1/sources/{source_id}", headers=api.read).json()
    assert before["coverage"] == {"history_from": None, "synced_until": None}

    await api.setup.context.runner.sync_source(source_id, trigger="cli")

    (listed,) = api.client.get("/api/v1/sources", headers=api.read).json()
    one = api.client.get(f"/api/v1/sources/{source_id}", headers=api.read).json()
    assert listed["coverage"] == one["coverage"]
    # The fake PSA's earliest ticket is created on 31 January 2025; the oldest stream
    # success is the first stream's (clients).
    assert one["coverage"]["history_from"] == "2025-01-31"
    successes = {s["stream"]: s["last_success_at"] for s in one["streams"]}
    assert one["coverage"]["synced_until"] == successes["clients"] == min(successes.values())
    as_csv = api.client.get("/api/v1/sources?format=csv", headers=api.read).text.splitlines()
    assert as_csv[0].endswith(",history_from,synced_until,requests_last_hour")
    assert ",2025-01-31," in as_csv[1]
