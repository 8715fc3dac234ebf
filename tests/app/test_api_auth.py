"""API keys: who may read, who may change, and what the errors say."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.security.apikeys import hash_key
from app.security.models import ApiKey


def test_an_unauthenticated_request_gets_401_json(api: Any) -> None:
    response = api.client.get("/api/v1/sources")

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_missing"
    assert "northstar apikey create" in response.json()["message"]


def test_an_unknown_key_gets_401(api: Any) -> None:
    response = api.client.get("/api/v1/sources", headers={"X-API-Key": "ns_not-a-real-key"})

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"


def test_a_read_key_reads_with_either_header(api: Any) -> None:
    bearer = {"Authorization": "Bearer " + api.read["X-API-Key"]}

    assert api.client.get("/api/v1/sources", headers=api.read).status_code == 200
    assert api.client.get("/api/v1/sources", headers=bearer).status_code == 200


def test_a_read_key_on_a_write_route_gets_403(api: Any) -> None:
    response = api.client.post(
        "/api/v1/sources",
        headers=api.read,
        json={"name": "x", "kind": "fakepsa", "config": {"api_token": "whatever-123"}},
    )

    assert response.status_code == 403
    assert response.json()["code"] == "admin_key_required"


def test_a_revoked_key_stops_working(api: Any) -> None:
    key = api.read["X-API-Key"]
    with api.setup.context.db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
        assert row is not None
        from app.db import utcnow

        row.revoked_at = utcnow()

    assert api.client.get("/api/v1/sources", headers=api.read).status_code == 401


def test_only_the_hash_of_a_key_is_stored(api: Any) -> None:
    key = api.admin["Authorization"].removeprefix("Bearer ")
    with api.setup.context.db.session() as session:
        stored = session.scalars(select(ApiKey.key_hash)).all()

    assert key not in stored
    assert hash_key(key) in stored


def test_health_needs_no_key_and_reports_scheduler_and_source_counts(api: Any) -> None:
    response = api.client.get("/api/v1/health")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "ok",
        "database": "ok",
        "scheduler": {
            "in_this_process": False,
            "running": False,
            "last_reconcile_at": None,
            "scheduled_sources": 0,
        },
        "sources_total": 1,
        "sources_failing": 0,
        "sources_stale": 0,
    }


def test_health_with_a_read_key_names_every_source(api: Any) -> None:
    body = api.client.get("/api/v1/health", headers=api.read).json()

    assert body["scheduler"]["syncs_in_progress"] == []
    assert [s["name"] for s in body["sources"]] == ["Fake PSA"]
    assert (body["sources_total"], body["sources_failing"]) == (1, 0)


def test_an_unknown_route_is_a_json_404(api: Any) -> None:
    response = api.client.get("/api/v1/nothing-here", headers=api.read)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# Routes that take no API key: the health check, and the PSA's change notices (the PSA
# has no key; the address's token and, for Autotask, the signature are checked instead).
KEYLESS = {"/api/v1/health", "/api/v1/push/{source_id}/{token}"}


def test_every_route_but_health_and_push_declares_key_security(api: Any) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            secured = bool(operation.get("security"))
            assert secured == (path not in KEYLESS), f"{method.upper()} {path}"
