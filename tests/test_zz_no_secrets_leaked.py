"""Runs last (see conftest): no credential any test used ever reached a log line."""

from __future__ import annotations

from leak_guard import KNOWN_SECRETS, LOG_COLLECTOR


def test_no_secret_reached_any_log() -> None:
    assert LOG_COLLECTOR.lines, "the log collector saw the suite's log lines"
    for line in LOG_COLLECTOR.lines:
        for secret in KNOWN_SECRETS:
            assert secret not in line, f"a credential reached a log line: {line[:200]}"
