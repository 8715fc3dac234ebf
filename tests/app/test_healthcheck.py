"""`northstar healthcheck` (the Docker image's HEALTHCHECK) asks the service on the host and
port from the settings: exit 0 when /api/v1/health answers 200, 1 with one line when the
service does not answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from live_server import serve_on_loopback

from app.cli import main
from app.main import create_app
from app.settings import Settings, get_settings


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", settings.database_url)
    assert settings.encryption_key is not None
    monkeypatch.setenv("NORTHSTAR_ENCRYPTION_KEY", settings.encryption_key.get_secret_value())
    monkeypatch.setenv("NORTHSTAR_HOST", "0.0.0.0")  # noqa: S104 - as in the image: asked on 127.0.0.1
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_a_running_service_is_healthy_on_the_port_from_the_settings(
    env: pytest.MonkeyPatch, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_on_loopback(create_app(settings, run_scheduler=False)) as base_url:
        env.setenv("NORTHSTAR_PORT", base_url.rsplit(":", 1)[1])
        get_settings.cache_clear()
        code = main(["healthcheck"])

    out = capsys.readouterr().out
    assert code == 0
    assert f"Northstar at {base_url}/api/v1/health is healthy (status ok, database ok)." in out


def test_no_service_is_one_line_and_exit_1(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there

    code = main(["healthcheck", "--port", str(port), "--timeout", "2"])

    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [
        f"Northstar does not answer at http://127.0.0.1:{port}/api/v1/health: "
        "[Errno 111] Connection refused."
    ]
