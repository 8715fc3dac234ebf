"""`northstar sync` says what happened and its exit code agrees: a sync whose streams all
synced, one where some failed (named), one that failed whole. The PSA is the built-in
ConnectWise simulator served over HTTP on loopback, with the faults a real one shows: a
security role without access to time entries, refused credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from live_server import serve_on_loopback

from app.cli import main
from app.db import Database
from app.security.crypto import cipher_from_settings
from app.settings import Settings, get_settings
from app.sources.service import create_source
from connectors.connectwise.sandbox import SANDBOX_CREDENTIALS
from connectors.connectwise.simulator import create_connectwise_simulator
from connectors.connectwise.simulator_paging import SimulatorFaults
from connectors.sandbox.world import build_world

SOURCE = "Northwind over HTTP"


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", settings.database_url)
    assert settings.encryption_key is not None
    monkeypatch.setenv("NORTHSTAR_ENCRYPTION_KEY", settings.encryption_key.get_secret_value())
    monkeypatch.setenv("NORTHSTAR_LOG_FORMAT", "json")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def world() -> Any:
    return build_world(seed=3, tickets=40)


def serve_psa(world: Any, faults: SimulatorFaults) -> Any:
    app = create_connectwise_simulator(
        world,
        company_id=SANDBOX_CREDENTIALS["company_id"],
        public_key=SANDBOX_CREDENTIALS["public_key"],
        private_key=SANDBOX_CREDENTIALS["private_key"],
        client_id=SANDBOX_CREDENTIALS["client_id"],
        fail=faults,
    )
    return serve_on_loopback(app)


def add_source(settings: Settings, base_url: str) -> None:
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            create_source(
                session,
                cipher_from_settings(settings),
                name=SOURCE,
                kind="connectwise",
                config={"base_url": base_url, **SANDBOX_CREDENTIALS},
                fast_interval_minutes=5,
                slow_interval_minutes=60,
            )
    finally:
        db.dispose()


def sync(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["sync", SOURCE])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_sync_where_every_stream_synced_says_so_and_exits_0(
    cli_env: None, settings: Settings, world: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_psa(world, SimulatorFaults()) as base_url:
        add_source(settings, base_url)
        code, text = sync(capsys)

    assert code == 0, text
    assert f"{SOURCE}: synced in " in text
    assert "failed" not in text


def test_a_partly_failed_sync_names_the_failed_streams_and_exits_1(
    cli_env: None, settings: Settings, world: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    no_time_entries = SimulatorFaults(unavailable={"/time/entries": 404})  # an older version
    with serve_psa(world, no_time_entries) as base_url:
        add_source(settings, base_url)
        code, text = sync(capsys)

    assert code == 1, text
    assert (
        f"{SOURCE}: sync partly failed after " in text
        and " s: 7 streams synced; time_entries and time_entries_sweep failed." in text
    ), text
    assert "synced in" not in text


def test_a_failure_that_stops_the_sync_says_the_rest_were_not_tried(
    cli_env: None, settings: Settings, world: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    no_access = SimulatorFaults(unavailable={"/time/entries": 403})  # a role without access
    with serve_psa(world, no_access) as base_url:
        add_source(settings, base_url)
        code, text = sync(capsys)

    assert code == 1, text
    assert "streams synced; time_entries failed; the rest were not tried." in text, text
    assert f"{SOURCE} needs attention:" in text


def test_a_sync_refused_by_the_psa_says_it_failed_and_exits_1(
    cli_env: None, settings: Settings, world: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_psa(world, SimulatorFaults(refuse_credentials=True)) as base_url:
        add_source(settings, base_url)
        code, text = sync(capsys)

    assert code == 1, text
    assert "synced in" not in text and "streams synced" not in text
    assert f"{SOURCE}: nothing was synced: " in text or f"{SOURCE}: sync failed after " in text
    assert "the rest were not tried" in text or "nothing was synced" in text
