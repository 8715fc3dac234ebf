"""Issue 16: a source is `unverified`, and never synced, until its check passes; fixing the
setting the check named makes it `active` and scheduled; the CLI says the same; and
`/api/v1/health` is `degraded` while a source is failing or stale (answered 200, or
NORTHSTAR_HEALTH_DEGRADED_STATUS for a load balancer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from leak_guard import CheckedClient
from loopback_psas import ConnectWiseDoor, connectwise_config, nothing_listening, serve
from sqlalchemy import select

from app.api.context import ServiceContext
from app.cli import main
from app.db import Database, utcnow
from app.ingest.models import SyncCursor, SyncRun
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings, get_settings

CHECK_SECONDS = 3.0


@dataclass
class Northstar:
    client: CheckedClient
    admin: dict[str, str]
    read: dict[str, str]
    context: ServiceContext

    def add(self, config: dict[str, Any], name: str = "Northwind") -> dict[str, Any]:
        body = {"name": name, "kind": "connectwise", "config": config}
        response = self.client.post("/api/v1/sources", headers=self.admin, json=body)
        assert response.status_code == 201, response.text
        source: dict[str, Any] = response.json()
        return source

    def change(self, source_id: int, **body: Any) -> dict[str, Any]:
        response = self.client.patch(f"/api/v1/sources/{source_id}", headers=self.admin, json=body)
        assert response.status_code == 200, response.text
        source: dict[str, Any] = response.json()
        return source

    def check(self, source_id: int) -> dict[str, Any]:
        response = self.client.post(f"/api/v1/sources/{source_id}/check", headers=self.admin)
        assert response.status_code == 200, response.text
        check: dict[str, Any] = response.json()
        return check

    def status(self, source_id: int) -> str:
        response = self.client.get(f"/api/v1/sources/{source_id}", headers=self.read)
        return str(response.json()["status"])

    def scheduled(self) -> list[int]:
        scheduler = self.context.scheduler or self.context.make_scheduler()
        if not scheduler._scheduler.running:
            scheduler._scheduler.start(paused=True)
        scheduler.reconcile()
        jobs = scheduler._scheduler.get_jobs()
        return sorted(int(j.id.rsplit("-", 1)[1]) for j in jobs if j.id.startswith("sync-source-"))


@pytest.fixture
def northstar(settings: Settings, db: Database) -> Iterator[Northstar]:
    settings = settings.model_copy(update={"source_check_timeout_seconds": CHECK_SECONDS})
    context = ServiceContext.build(settings, db=db)
    with db.session() as session:
        admin = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
        read = create_api_key(session, name="read", scope=KeyScope.READ).key
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        yield Northstar(client, {"Authorization": f"Bearer {admin}"}, {"X-API-Key": read}, context)
    if context.scheduler is not None:
        context.scheduler.shutdown(wait=False)


def runs(context: ServiceContext) -> list[str]:
    with context.db.session() as session:
        return list(session.scalars(select(SyncRun.stream)))


# ---- unverified until the check passes --------------------------------------------------


def test_a_source_that_fails_its_check_is_neither_scheduled_nor_synced(
    northstar: Northstar,
) -> None:
    with nothing_listening() as url:
        source = northstar.add(connectwise_config(url))

    assert source["status"] == "unverified"
    assert northstar.scheduled() == []
    assert northstar.context.scheduler is not None
    northstar.context.scheduler.sync_source(source["id"])  # as if its job had fired
    assert runs(northstar.context) == []
    asked = northstar.client.post(f"/api/v1/sources/{source['id']}/sync", headers=northstar.admin)
    assert asked.status_code == 422
    assert asked.json()["code"] == "source_not_active"
    assert "check has not passed" in asked.json()["message"]


def test_fixing_the_setting_the_check_named_makes_the_source_active_and_scheduled(
    northstar: Northstar,
) -> None:
    with nothing_listening() as url:
        source = northstar.add(connectwise_config(url))
    assert source["check"]["settings"] == ["base_url"]

    with serve(ConnectWiseDoor()) as url:
        fixed = northstar.change(source["id"], config={"base_url": url})

        assert (fixed["check"]["ok"], fixed["status"]) == (True, "active"), fixed["check"]
        assert (fixed["status_code"], fixed["status_message"]) == (None, None)
        assert northstar.scheduled() == [source["id"]]


def test_a_check_after_the_psa_was_fixed_makes_the_source_active(northstar: Northstar) -> None:
    door = ConnectWiseDoor(role_may_read_system=False)
    with serve(door) as url:
        source = northstar.add(connectwise_config(url))
        assert source["check"]["failure"] == "forbidden"

        door.role_may_read_system = True  # the owner changed the API member's security role
        check = northstar.check(source["id"])

    assert check["ok"] is True
    assert northstar.status(source["id"]) == "active"


def test_settings_sent_back_unchanged_run_no_check(northstar: Northstar) -> None:
    with serve(ConnectWiseDoor()) as url:
        source = northstar.add(connectwise_config(url))
        masked = {"base_url": url, "private_key": "********", "client_id": "********"}

        same = northstar.change(source["id"], config=masked)

    assert (same["status"], same["check"]) == ("active", None)


def test_a_verified_source_whose_psa_is_briefly_unreachable_stays_active(
    northstar: Northstar,
) -> None:
    with serve(ConnectWiseDoor()) as url:
        source = northstar.add(connectwise_config(url))
    assert source["status"] == "active"

    check = northstar.check(source["id"])  # the server is gone: refused

    assert (check["ok"], check["failure"]) == (False, "refused")
    assert northstar.status(source["id"]) == "active"  # its syncs retry with backoff


def test_resuming_a_paused_source_checks_it_again(northstar: Northstar) -> None:
    with serve(ConnectWiseDoor()) as url:
        source = northstar.add(connectwise_config(url))
        paused = northstar.change(source["id"], paused=True)
        assert (paused["status"], paused["check"]) == ("paused", None)
        assert northstar.scheduled() == []

        resumed = northstar.change(source["id"], paused=False)

    assert (resumed["status"], resumed["check"]["ok"]) == ("active", True)


# ---- the CLI -----------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    assert settings.encryption_key is not None
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("NORTHSTAR_ENCRYPTION_KEY", settings.encryption_key.get_secret_value())
    monkeypatch.setenv("NORTHSTAR_SOURCE_CHECK_TIMEOUT_SECONDS", str(CHECK_SECONDS))
    monkeypatch.setenv("NORTHSTAR_LOG_FORMAT", "json")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_source_add_says_what_failed_and_list_shows_it_unverified(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with nothing_listening() as url:
        config = json.dumps(connectwise_config(url))
        code = main(
            ["source", "add", "--name", "Northwind", "--kind", "connectwise", "--config", config]
        )

    said = capsys.readouterr().err
    assert code == 1
    assert "The check failed:" in said and "127.0.0.1 refused the connection" in said
    assert "`base_url`" in said
    assert main(["source", "list"]) == 0
    listed = capsys.readouterr().out
    assert "unverified" in listed and "refused the connection" in listed


def test_source_add_of_a_working_psa_is_active(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(ConnectWiseDoor()) as url:
        config = json.dumps(connectwise_config(url))
        code = main(
            ["source", "add", "--name", "Northwind", "--kind", "connectwise", "--config", config]
        )

    assert code == 0
    assert "Connected to ConnectWise PSA." in capsys.readouterr().err
    assert main(["source", "list"]) == 0
    assert "active" in capsys.readouterr().out


# ---- health ------------------------------------------------------------------------------


def health(northstar: Northstar, *, degraded_status: int = 200) -> tuple[int, dict[str, Any]]:
    """The public health answer, with NORTHSTAR_HEALTH_DEGRADED_STATUS at `degraded_status`."""
    context = northstar.context
    context.settings = context.settings.model_copy(
        update={"health_degraded_status": degraded_status}
    )
    response = northstar.client.get("/api/v1/health")
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_health_is_degraded_while_a_source_fails_its_check(northstar: Northstar) -> None:
    with nothing_listening() as url:
        northstar.add(connectwise_config(url))

    status, body = health(northstar)
    for_a_load_balancer, _ = health(northstar, degraded_status=503)

    assert (status, body["status"], body["sources_failing"]) == (200, "degraded", 1)
    assert for_a_load_balancer == 503
    detailed = northstar.client.get("/api/v1/health", headers=northstar.read).json()
    [source] = detailed["sources"]
    assert (source["status"], source["failing"]) == ("unverified", True)
    assert "refused the connection" in source["status_message"]


def test_health_is_ok_when_every_source_passed_and_synced_recently(northstar: Northstar) -> None:
    with serve(ConnectWiseDoor()) as url:
        northstar.add(connectwise_config(url))

    status, body = health(northstar, degraded_status=503)

    assert (status, body["status"], body["sources_failing"], body["sources_stale"]) == (
        200,
        "ok",
        0,
        0,
    )


def test_health_is_degraded_when_a_source_has_not_synced_for_three_slow_intervals(
    northstar: Northstar,
) -> None:
    with serve(ConnectWiseDoor()) as url:
        source = northstar.add(connectwise_config(url))
    long_ago = utcnow() - timedelta(hours=3, minutes=5)  # default slow interval: an hour
    with northstar.context.db.session() as session:
        session.add(SyncCursor(source_id=source["id"], stream="tickets", last_success_at=long_ago))

    status, body = health(northstar)
    for_a_load_balancer, _ = health(northstar, degraded_status=503)

    assert (status, body["status"], body["sources_stale"], body["sources_failing"]) == (
        200,
        "degraded",
        1,
        0,
    )
    assert for_a_load_balancer == 503


def test_a_paused_source_does_not_degrade_health(northstar: Northstar) -> None:
    with nothing_listening() as url:
        source = northstar.add(connectwise_config(url))
    northstar.change(source["id"], paused=True)

    status, body = health(northstar, degraded_status=503)

    assert (status, body["status"], body["sources_failing"]) == (200, "ok", 0)


def test_the_degraded_status_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHSTAR_HEALTH_DEGRADED_STATUS", "503")

    assert Settings(_env_file=None).health_degraded_status == 503  # type: ignore[call-arg]
