"""Runs last (see conftest): no credential any test used ever reached a log line, in any
spelling (plain, URL-encoded, escaped, base64, hex; see `leak_guard.leak_forms`)."""

from __future__ import annotations

from leak_guard import LOG_COLLECTOR, find_leaks, known_secret_forms


def test_no_secret_reached_any_log() -> None:
    assert LOG_COLLECTOR.lines, "the log collector saw the suite's log lines"
    forms = known_secret_forms()
    leaks = [(line, found) for line in LOG_COLLECTOR.lines if (found := find_leaks(line, forms))]
    assert not leaks, f"{len(leaks)} log lines carry a credential, the first: {leaks[0]}"
