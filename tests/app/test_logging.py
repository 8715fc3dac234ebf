"""Logging: secrets are masked by key name and by value, wherever they appear."""

from __future__ import annotations

import structlog

from app.logging import MASK, redact, secrets_registry


def test_secret_looking_keys_are_masked() -> None:
    event = redact(None, "info", {"event": "x", "private_key": "abc", "Authorization": "Basic z"})

    assert event == {"event": "x", "private_key": MASK, "Authorization": MASK}


def test_registered_secret_values_are_masked_inside_any_text() -> None:
    secrets_registry.add("tenant-secret-9981")

    event = redact(
        None,
        "info",
        {
            "event": "failed",
            "error": "401 for tenant-secret-9981 here",
            "nested": {"headers": ["x tenant-secret-9981"]},
        },
    )

    assert event["error"] == f"401 for {MASK} here"
    assert event["nested"] == {"headers": [f"x {MASK}"]}


def test_sync_lines_carry_source_stream_and_run(capsys: object) -> None:
    from leak_guard import LOG_COLLECTOR

    before = len(LOG_COLLECTOR.lines)
    with structlog.contextvars.bound_contextvars(source="Acme PSA", stream="tickets", run_id=7):
        structlog.get_logger("test").info("page_stored")

    line = LOG_COLLECTOR.lines[before]
    assert '"source": "Acme PSA"' in line and '"stream": "tickets"' in line
    assert '"run_id": 7' in line


def test_access_log_lines_drop_query_strings() -> None:
    import logging

    from app.logging import DropQueryStrings

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/odata/Tickets?api_key=ns_secret&$top=5", "1.1", 200),
        None,
    )

    assert DropQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /odata/Tickets HTTP/1.1" 200'
