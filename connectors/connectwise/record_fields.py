"""Reading fields of a raw ConnectWise record, strictly where a fact depends on them.

ConnectWise omits null-valued properties, so an absent optional field is normal and reads as
None. A field that is present but cannot be what it claims to be (a date that is no date, a
number that is no number), or a field a fact cannot do without, raises `RecordRejected`: the
runner quarantines the record instead of storing a zero or a silent gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.sdk import RecordRejected

Record = Mapping[str, Any]
_SHOWN = 40  # characters of a bad value quoted back to the user


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def parse_instant(value: Any) -> datetime | None:
    """A ConnectWise timestamp as an aware datetime (naive values are taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_key(record: Record) -> str:
    """The record's id as a fact's external id; rejects a record without one."""
    value = record.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    raise RecordRejected("id", "missing" if value is None else f"not an id: {_shown(value)}")


def instant(holder: Record, key: str, *, label: str | None = None) -> datetime | None:
    """An optional timestamp: None when absent, rejected when present but unreadable."""
    value = holder.get(key)
    if value is None:
        return None
    moment = parse_instant(value)
    if moment is None:
        raise RecordRejected(label or key, f"not a date and time: {_shown(value)}")
    return moment


def required_instant(holder: Record, key: str, *, label: str | None = None) -> datetime:
    moment = instant(holder, key, label=label)
    if moment is None:
        raise RecordRejected(label or key, "missing")
    return moment


def calendar_day(holder: Record, key: str, *, label: str | None = None) -> date | None:
    """The calendar date of a date-time (`2024-01-01T00:00:00Z`), no zone shift."""
    value = holder.get(key)
    if value is None:
        return None
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise RecordRejected(label or key, f"not a date: {_shown(value)}")


def number(holder: Record, key: str, *, label: str | None = None) -> float | None:
    """An optional number (numeric text accepted): None when absent, rejected otherwise."""
    value = holder.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value.strip()))
        except (InvalidOperation, ValueError):
            pass
    raise RecordRejected(label or key, f"not a number: {_shown(value)}")


def required_number(holder: Record, key: str, *, label: str | None = None) -> float:
    found = number(holder, key, label=label)
    if found is None:
        raise RecordRejected(label or key, "missing")
    return found


def info(record: Record) -> Mapping[str, Any] | None:
    found = record.get("_info")
    return found if isinstance(found, Mapping) else None


def ref(record: Record, key: str, field: str = "id") -> Any:
    found = record.get(key)
    return found.get(field) if isinstance(found, Mapping) else None


def ref_key(record: Record, key: str) -> str | None:
    value = ref(record, key)
    return None if value is None else str(value)
