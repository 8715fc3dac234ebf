"""Datetimes as Autotask writes them, and query bodies as Autotask reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from connectors.autotask.query import (
    changed_since,
    condition,
    parse_date,
    parse_datetime,
    query_body,
)

NOON = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T12:00:05Z", NOON),
        ("2025-03-01T12:00:05.1Z", NOON.replace(microsecond=100_000)),
        ("2025-03-01T12:00:05.20Z", NOON.replace(microsecond=200_000)),
        ("2025-03-01T12:00:05.437Z", NOON.replace(microsecond=437_000)),
        ("2025-03-01T12:00:05.4371Z", NOON.replace(microsecond=437_100)),
        ("2025-03-01T12:00:05.43712Z", NOON.replace(microsecond=437_120)),
        ("2025-03-01T12:00:05.437123Z", NOON.replace(microsecond=437_123)),
        ("2025-03-01T12:00:05.4371239Z", NOON.replace(microsecond=437_123)),
        ("2025-03-01T12:00:05.4371239", NOON.replace(microsecond=437_123)),
        ("2025-03-01T13:00:05+01:00", NOON),
        ("2025-03-01 12:00:05z", NOON),
    ],
)
def test_datetimes_with_0_to_7_fractional_digits(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


def test_null_and_junk_datetimes() -> None:
    assert parse_datetime(None) is None
    assert parse_datetime("") is None
    with pytest.raises(ValueError, match="not an Autotask datetime"):
        parse_datetime("yesterday")


@pytest.mark.parametrize(
    "text", ["2025-03-01T00:00:00Z", "2025-03-01T00:00:00.00Z", "2025-03-01T00:00:00.0000000Z"]
)
def test_date_only_fields_are_never_shifted(text: str) -> None:
    assert parse_date(text) == date(2025, 3, 1)


def test_query_body_sends_numbers_as_numbers_and_always_id() -> None:
    body = query_body(
        [condition("eq", "contractType", 7)], include_fields=["contractName"], after_id=41
    )
    assert body == {
        "MaxRecords": 500,
        "IncludeFields": ["id", "contractName"],
        "filter": [
            {"op": "eq", "field": "contractType", "value": 7},
            {"op": "gt", "field": "id", "value": 41},
        ],
    }


def test_changed_since_ors_the_stamps() -> None:
    assert changed_since(["lastActivityDate", "lastTrackedModificationDateTime"], NOON) == {
        "op": "or",
        "items": [
            {"op": "gte", "field": "lastActivityDate", "value": "2025-03-01T12:00:05.000000Z"},
            {
                "op": "gte",
                "field": "lastTrackedModificationDateTime",
                "value": "2025-03-01T12:00:05.000000Z",
            },
        ],
    }
    assert condition("exist", "id", 3) == {"op": "exist", "field": "id"}
