"""Building ConnectWise `conditions` strings (the client side of reference §4)."""

from __future__ import annotations

from datetime import UTC, datetime


def condition_datetime(moment: datetime) -> str:
    """A datetime literal in the `[YYYY-MM-DDTHH:MM:SSZ]` form every ConnectWise version
    accepts; truncated to the second, which only widens a `>=` filter."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return "[" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "]"


def condition_string(value: str) -> str:
    """A double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def changed_since(since: datetime | None) -> str | None:
    return None if since is None else f"lastUpdated >= {condition_datetime(since)}"


def id_window(after_id: int | None, upto_id: int | None) -> str | None:
    """`id > after_id and id <= upto_id`, leaving out open ends."""
    parts = []
    if after_id is not None:
        parts.append(f"id > {int(after_id)}")
    if upto_id is not None:
        parts.append(f"id <= {int(upto_id)}")
    return " and ".join(parts) or None


def all_of(*parts: str | None) -> str | None:
    """Conjunction of the given conditions (None parts are skipped); None when empty."""
    present = [part for part in parts if part]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({part})" if " or " in part.lower() else part for part in present)
