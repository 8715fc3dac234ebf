"""Rolling id sweeps: each run of an id sweep lists one slice of the ids, the whole list
once a day (`NORTHSTAR_SWEEP_PERIOD_HOURS`).

Listing every id every hour to find the few records deleted was most of a quiet source's
requests. Instead, a rotation splits the ids into `parts` slices, one listed per run of the
stream, so the whole collection is listed once every `parts` runs (24 at the default hourly
slow cadence) and a deletion no log reports is still caught within that period. Deletion
logs and webhooks still catch what they report within minutes.

- The slices' boundaries are equal-count quantiles of the ids stored for the swept facts,
  planned when a rotation starts and kept for all of it, so the rotation's slices cover every
  id exactly once: the first is open below, the last open above (records created since, with
  higher ids, are in it).
- The rotation is kept in the stream's cursor row (`{"rolling_sweep": {"bounds": [...],
  "part": n, "period_parts": p}}`, written when a slice starts): a listing never resumes
  half way, so a slice killed mid-listing is listed whole again by the next run, and the
  rotation moves on only once a slice's listing is done.
- No slicing (the whole list every run): when asked for a complete re-read (`sync --full`),
  on the stream's first run, with a period of 0 or 1 run, for a collection too small for a
  slice to fill a page (a smaller slice costs the same request and only delays what it
  finds), or when some stored id is not a plain number.
- Only stored facts inside the slice's range are removed when not seen.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.facts.store import ROW_FOR_FACT
from app.ingest.models import SyncCursor
from app.ingest.page_store import PageStore
from app.ingest.run_book import StreamOutcome
from app.sources.models import Source
from connectors.sdk import ID_RANGE, StreamMode, StreamSpec

ROTATION = "rolling_sweep"
INCOMPLETE_LISTING = (
    "Nothing was removed: the PSA listed a record without its id, so what is gone cannot be "
    "told for sure. See /quarantine."
)


@dataclass(frozen=True, slots=True)
class SweepSlice:
    """Ids `low <= id < high` (None: open at that end), part `part` (from 1) of `parts`."""

    low: int | None
    high: int | None
    part: int
    parts: int
    bounds: tuple[int, ...]  # the rotation's boundaries between slices, ascending
    period_parts: int  # the slices the period asked for when the rotation was planned
    interval: timedelta  # the stream's interval: a slice per interval

    @property
    def id_range(self) -> tuple[int | None, int | None]:
        return self.low, self.high

    def read_cursor(self) -> dict[str, Any]:
        """What the connector's read is given (`StreamMode.ID_SWEEP`)."""
        return {ID_RANGE: [self.low, self.high]}

    def rotation(self, part: int) -> dict[str, Any]:
        return {
            ROTATION: {"bounds": list(self.bounds), "part": part, "period_parts": self.period_parts}
        }

    def note(self) -> str:
        """What the run record says about the part listed, in plain words."""
        if self.low is None:
            listed = f"ids below {self.high:,}"
        elif self.high is None:
            listed = f"ids from {self.low:,} up"
        else:
            listed = f"ids {self.low:,} to {self.high - 1:,}"
        hours = (self.interval * self.parts) / timedelta(hours=1)
        every = "once a day" if hours == 24 else f"every {hours:g} hours"
        return (
            f"Listed {listed} (part {self.part} of {self.parts}); the whole list is re-read "
            f"{every}."
        )


def slices_per_period(period_hours: float, interval: timedelta) -> int:
    """How many runs of a stream of this interval fit in the period (at least 1)."""
    if period_hours <= 0 or interval <= timedelta(0):
        return 1
    return max(1, round(timedelta(hours=period_hours) / interval))


def plan_slice(
    session: Session,
    source: Source,
    spec: StreamSpec,
    state: SyncCursor,
    *,
    full: bool,
    period_hours: float,
) -> SweepSlice | None:
    """The slice this run of `spec` lists, kept in `state` (its cursor row); None: the whole
    list (a listing stream that is not an id sweep, a full re-read, a first run, ...)."""
    if spec.mode is not StreamMode.ID_SWEEP or spec.sweeps is None:
        return None
    if full or state.last_success_at is None:
        return None
    interval = timedelta(seconds=source.interval_seconds(spec.interval))
    period_parts = slices_per_period(period_hours, interval)
    if period_parts <= 1:
        return None
    kept = _kept_rotation(state.cursor, period_parts)
    if kept is None:
        planned = _plan_bounds(session, source.id, spec, period_parts)
        if planned is None:
            return None
        kept = (planned, 1)
    bounds, part = kept
    edges: list[int | None] = [None, *bounds, None]
    chosen = SweepSlice(
        low=edges[part - 1],
        high=edges[part],
        part=part,
        parts=len(bounds) + 1,
        bounds=bounds,
        period_parts=period_parts,
        interval=interval,
    )
    state.cursor = chosen.rotation(part)
    return chosen


def _kept_rotation(cursor: dict[str, Any] | None, period_parts: int) -> tuple[Any, int] | None:
    """The rotation under way, as (bounds, part to list), if its period is still the one
    asked for and it has a part left."""
    rotation = cursor.get(ROTATION) if isinstance(cursor, dict) else None
    if not isinstance(rotation, dict) or rotation.get("period_parts") != period_parts:
        return None
    try:
        bounds = tuple(int(b) for b in rotation["bounds"])
        part = int(rotation["part"])
    except (KeyError, TypeError, ValueError):
        return None
    if not bounds or list(bounds) != sorted(set(bounds)) or not 1 <= part <= len(bounds) + 1:
        return None
    return bounds, part


def _plan_bounds(
    session: Session, source_id: int, spec: StreamSpec, period_parts: int
) -> tuple[int, ...] | None:
    """Equal-count boundaries between the slices of the stored ids, or None when the ids do
    not make at least two slices of a page each (or one is not a plain number)."""
    assert spec.sweeps is not None
    row = ROW_FOR_FACT[spec.sweeps]
    ids = array("q")
    found = session.execute(
        select(row.external_id)
        .where(row.source_id == source_id)
        .execution_options(yield_per=10_000)
    ).scalars()
    for external_id in found:
        if not _plain_number(external_id):
            return None
        ids.append(int(external_id))
    parts = min(period_parts, len(ids) // max(1, spec.page_size))
    if parts <= 1:
        return None
    ordered = sorted(ids)
    bounds = sorted({ordered[len(ordered) * k // parts] for k in range(1, parts)})
    return tuple(bounds)


def _plain_number(text: str) -> bool:
    """Digits without a leading zero: ordered as numbers by (length, text), as ids are."""
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


def end_listing(
    pages: PageStore,
    source_id: int,
    spec: StreamSpec,
    run_started: datetime,
    outcome: StreamOutcome,
    mark_days: bool,
    listed: SweepSlice | None,
) -> None:
    """After a listing stream's last page: remove the stored facts it did not see (in the
    slice listed), unless a record came without its id; then move the rotation on."""
    if outcome.listing_complete:
        id_range = None if listed is None else listed.id_range
        pages.remove_unseen(source_id, spec, run_started, outcome, mark_days, id_range=id_range)
    else:
        outcome.warn(INCOMPLETE_LISTING)
    if listed is None:
        return
    # After the last part, the next run plans a new rotation from the ids stored by then.
    following = listed.rotation(listed.part + 1) if listed.part < listed.parts else None
    with pages.db.session() as session:
        session.execute(
            update(SyncCursor)
            .where(SyncCursor.source_id == source_id, SyncCursor.stream == spec.name)
            .values(cursor=following)
        )
