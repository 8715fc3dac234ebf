"""Reading one field of an Autotask record, for readers and normalisation alike.

Autotask records are JSON objects whose fields may be missing, null, or (rarely, through a
bad integration or a data migration) of the wrong type. The reader must keep paging past
such a record, and `normalize` must reject it naming the field, never crash on it: these
functions return None for what is absent and raise `RecordRejected(field, reason)` for what
is present but unreadable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.autotask.query import parse_date, parse_datetime
from connectors.sdk import RecordRejected

Row = Mapping[str, Any]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def id_of(row: Row) -> int | None:
    """The row's `id` as an int, or None when it is missing or not a whole number (the
    reader then pages on with the last row that has one)."""
    return int_or_none(row.get("id"))


def int_or_none(value: object) -> int | None:
    """`value` as an int when it is one (also `12.0` and `"12"`), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def last_id_of(rows: Iterable[Row]) -> int | None:
    """The id of the last row that has one: where keyset paging continues."""
    last = None
    for row in rows:
        row_id = id_of(row)
        if row_id is not None:
            last = row_id
    return last


def ids_of(rows: Iterable[Row], field: str = "id") -> list[int]:
    """The distinct whole-number values of `field`, ascending; others are left out."""
    return sorted({v for v in (int_or_none(row.get(field)) for row in rows) if v is not None})


def required_id(record: Row) -> str:
    """The record's id as text; RecordRejected when it has none."""
    value = record.get("id")
    row_id = int_or_none(value)
    if row_id is None:
        raise RecordRejected("id", "missing" if value is None else f"not an id: {_shown(value)}")
    return str(row_id)


def whole_number(record: Row, field: str) -> int | None:
    """An integer field (a picklist value, say); None when null."""
    value = record.get(field)
    if value is None:
        return None
    number = int_or_none(value)
    if number is None:
        raise RecordRejected(field, f"not a whole number: {_shown(value)}")
    return number


def reference(record: Row, field: str) -> str | None:
    """An id-valued field (`companyID`, …) as text; None when null."""
    value = record.get(field)
    if value is None:
        return None
    ref = int_or_none(value)
    if ref is None:
        raise RecordRejected(field, f"not an id: {_shown(value)}")
    return str(ref)


def number(record: Row, field: str, *, default: float | None = None) -> float | None:
    """A numeric field as a float; `default` when null or missing."""
    value = record.get(field)
    if value is None:
        return default
    if isinstance(value, bool):
        raise RecordRejected(field, f"not a number: {_shown(value)}")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise RecordRejected(field, f"not a number: {_shown(value)}") from None
    if not math.isfinite(result):
        raise RecordRejected(field, f"not a number: {_shown(value)}")
    return result


def decimal(record: Row, field: str) -> Decimal:
    """A money field as a Decimal (0 when null)."""
    value = record.get(field)
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise RecordRejected(field, f"not a number: {_shown(value)}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise RecordRejected(field, f"not a number: {_shown(value)}") from None
    if not result.is_finite():
        raise RecordRejected(field, f"not a number: {_shown(value)}")
    return result


def when(record: Row, field: str) -> datetime | None:
    """A datetime field, UTC-aware; None when null."""
    value = record.get(field)
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        raise RecordRejected(field, f"not a date and time: {_shown(value)}") from None


def required_when(record: Row, field: str) -> datetime:
    value = when(record, field)
    if value is None:
        raise RecordRejected(field, "missing")
    return value


def day(record: Row, field: str) -> date | None:
    """A date-only field (sent as a midnight datetime); None when null."""
    value = record.get(field)
    try:
        return parse_date(value)
    except (TypeError, ValueError):
        raise RecordRejected(field, f"not a date: {_shown(value)}") from None


def required_day(record: Row, field: str) -> date:
    value = day(record, field)
    if value is None:
        raise RecordRejected(field, "missing")
    return value
