"""Autotask query bodies and the datetime formats the API reads and writes.

Filters are plain dicts in the API's shape (`{"op", "field", "value"}`, groups
`{"op": "and"|"or", "items": [...]}`); values keep their JSON type, so ids go out as
numbers (the API matches nothing when a long id is compared with a string).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

MAX_RECORDS = 500  # the API's page size limit; more gets HTTP 500

Filter = dict[str, Any]

_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d{1,7}))?)?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_datetime(value: object) -> datetime | None:
    """An Autotask datetime as an aware UTC datetime; None for null or empty.

    Takes 0 to 7 fractional digits (.NET writes up to 7; the 7th digit, 100 ns, is
    dropped), `Z`, an offset, or no zone (UTC, as the REST API stores and returns UTC), with
    `T` or a space. Raises ValueError for text that is not a datetime.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:  # the common shapes, fast (Python 3.11 reads `Z` and truncates a 7th digit)
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        pass
    else:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    match = _DATETIME.match(str(value).strip())
    if match is None:
        raise ValueError(f"not an Autotask datetime: {value!r}")
    day = date.fromisoformat(match["date"])
    micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
    tz = UTC
    if match["zone"] and match["zone"].upper() != "Z":
        sign = 1 if match["zone"][0] == "+" else -1
        digits = match["zone"][1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    parsed = datetime(
        day.year,
        day.month,
        day.day,
        int(match["h"] or 0),
        int(match["m"] or 0),
        int(match["s"] or 0),
        micro,
        tzinfo=tz,
    )
    return parsed.astimezone(UTC)


def parse_date(value: object) -> date | None:
    """The calendar date of a date-only field (`2025-03-01T00:00:00Z`), never shifted by a
    time zone: Autotask sends these as midnight datetimes."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATETIME.match(str(value).strip())
    if match is None:
        raise ValueError(f"not an Autotask date: {value!r}")
    return date.fromisoformat(match["date"])


def format_datetime(value: datetime) -> str:
    """A filter value in the form production clients send: UTC, microseconds, `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def condition(op: str, field: str, value: Any = None) -> Filter:
    """One field condition; `exist`/`notExist` take no value."""
    if op in ("exist", "notExist"):
        return {"op": op, "field": field}
    return {"op": op, "field": field, "value": value}


def any_of(items: Sequence[Filter]) -> Filter:
    return items[0] if len(items) == 1 else {"op": "or", "items": list(items)}


def changed_since(stamp_fields: Sequence[str], since: datetime) -> Filter:
    """Records whose change stamp (any of `stamp_fields`) is at or after `since`."""
    value = format_datetime(since)
    return any_of([condition("gte", field, value) for field in stamp_fields])


def query_body(
    filters: Iterable[Filter],
    *,
    include_fields: Sequence[str],
    after_id: int | None,
    max_records: int = MAX_RECORDS,
) -> dict[str, Any]:
    """A `POST /{Entity}/query` body walking ids upward after `after_id`.

    `id` is always included (the API needs it beyond 500 results, and keyset paging reads it).
    """
    fields = ["id", *(f for f in include_fields if f != "id")]
    items = [*filters, condition("gt", "id", after_id if after_id is not None else 0)]
    return {"MaxRecords": max_records, "IncludeFields": fields, "filter": items}
