"""A source's freshness (app.ingest.freshness, as /api/v1/health gives it) in plain words
for the overview: "Tickets checked 40 s ago, newest change 3 min ago"; "Stale: Time entries
not checked for 17 minutes"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The cadences in the order the overview prefers them: the quickest a source has is shown.
CADENCE_ORDER = ("live", "fast", "slow")
# (seconds in the unit, its short name, its long name); the largest unit that fits is used.
UNITS = ((86400, "days", "days"), (3600, "h", "hours"), (60, "min", "minutes"), (1, "s", "seconds"))
# Below twice a unit the next smaller one reads better ("90 s", not "1 min").
SWITCH_AT = 2


def span(seconds: int, *, long: bool = False) -> str:
    """`40 s`, `3 min`, `5 h`, `12 days` (long: `17 minutes`, `1 second`)."""
    for size, short, full in UNITS:
        if seconds >= SWITCH_AT * size or size == 1:
            count = seconds // size
            name = full if long else short
            if long and count == 1:
                name = name.removesuffix("s")
            return f"{count} {name}"
    raise AssertionError("unreachable: the last unit is one second")


def stream_label(name: str) -> str:
    """`time_entries` → `Time entries`."""
    return name.replace("_", " ").capitalize()


def _quickest(streams: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    for cadence in CADENCE_ORDER:
        chosen = [s for s in streams if s.get("cadence") == cadence]
        if chosen:
            return chosen
    return []


def stream_words(stream: Mapping[str, Any]) -> str:
    label = stream_label(str(stream["name"]))
    checked = stream.get("checked_age_seconds")
    if checked is None:
        return f"{label} not checked yet"
    changed = stream.get("change_age_seconds")
    change = f"newest change {span(changed)} ago" if changed is not None else "no change seen yet"
    return f"{label} checked {span(checked)} ago, {change}"


def freshness_line(streams: Sequence[Mapping[str, Any]]) -> str | None:
    """How fresh the quickest streams of a source are (tickets and time entries for a PSA),
    one sentence; None when the source has no stream."""
    shown = _quickest(streams)
    if not shown:
        return None
    return "; ".join(stream_words(s) for s in shown) + "."


def stale_words(streams: Sequence[Mapping[str, Any]]) -> str | None:
    """What is stale, for the warning: `Tickets not checked for 17 minutes`."""
    parts = []
    for stream in streams:
        if not stream.get("stale"):
            continue
        label = stream_label(str(stream["name"]))
        checked = stream.get("checked_age_seconds")
        parts.append(
            f"{label} not checked yet"
            if checked is None
            else f"{label} not checked for {span(checked, long=True)}"
        )
    return ", ".join(parts) if parts else None
