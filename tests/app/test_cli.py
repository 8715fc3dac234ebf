"""The `northstar` command as a person runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.settings import Settings, get_settings


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = {
        "NORTHSTAR_DATABASE_URL": settings.database_url,
        "NORTHSTAR_ENCRYPTION_KEY": settings.encryption_key.get_secret_value()  # type: ignore[union-attr]
        if settings.encryption_key
        else "",
        "NORTHSTAR_LOG_FORMAT": "json",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def test_apikey_create_prints_the_key_once_and_list_hides_it(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apikey", "create", "--scope", "read", "--name", "grafana"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("ns_") and len(key) > 40

    assert main(["apikey", "list"]) == 0
    listing = capsys.readouterr().out
    assert "grafana" in listing and "read" in listing
    assert key not in listing


def test_sync_of_an_unknown_source_says_so(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "nope"]) == 2
    assert "There is no source called 'nope'" in capsys.readouterr().err


def test_backfill_refuses_a_bad_date(cli_env: dict[str, str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", "x", "--since", "last tuesday"])
    assert exit_.value.code == 2


def test_genkey_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    from app.security.crypto import CredentialCipher

    assert main(["genkey"]) == 0
    CredentialCipher([capsys.readouterr().out.strip()])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_and_health_reports_the_scheduler(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, **cli_env, "NORTHSTAR_SCHEDULER_TICK_SECONDS": "1"}
    northstar = Path(sys.executable).with_name("northstar")
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [str(northstar), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            body = response.json()
            if response.status_code == 200 and body["scheduler"]["last_reconcile_at"]:
                break
            time.sleep(0.2)
        assert body is not None, "the service answered"
        assert body["status"] == "ok"
        assert body["scheduler"]["in_this_process"] is True
        assert body["scheduler"]["running"] is True
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_kpis_rebuild_recomputes_the_store(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    from kpi_world import FACTS, NY

    from app.db import Database
    from app.kpis.dirty import store_facts
    from app.kpis.models import KpiDailyRollup
    from app.sources.models import Source

    db = Database(settings.database_url)
    with db.session() as session:
        source = Source(name="Hand-made", kind="fakepsa", config={}, secrets_encrypted="")
        session.add(source)
        session.flush()
        store_facts(session, source.id, FACTS, NY)  # facts stored, KPI days left dirty
    db.dispose()

    assert main(["kpis", "rebuild", "--source", "Hand-made"]) == 0

    assert "days of KPIs rebuilt" in capsys.readouterr().err
    db = Database(settings.database_url)
    with db.session() as session:
        assert session.query(KpiDailyRollup).filter_by(dim="all").count() > 0
    db.dispose()


def test_production_without_a_key_refuses_to_start_and_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NORTHSTAR_ENVIRONMENT", "production")
    monkeypatch.delenv("NORTHSTAR_ENCRYPTION_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["migrate"])
    finally:
        get_settings.cache_clear()

    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "NORTHSTAR_ENCRYPTION_KEY is required" in err and "northstar genkey" in err
