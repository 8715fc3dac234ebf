"""Data coverage: which periods Northstar holds the PSAs' history for, in full.

A source's history is complete from `Source.history_from` (the first day of its backfill,
or its earliest fact when the PSA's history was read whole; see `app.ingest.runner`) up to
`synced_until`, the earliest last successful sync over its streams. A KPI value for a
period outside that is not a measurement: it is null with a reason, never 0. A period that
has not ended yet, or is synced only part of the way to its end, has a value "so far" and is
marked partial.

Over several sources (an unscoped KPI), history is complete from the latest `history_from`
and up to the earliest `synced_until`: a period counts only when every source holds it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingest.models import SyncCursor
from app.kpis.periods import Period
from app.kpis.sql_time import utc_bounds
from app.sources.models import Source


class PeriodState(StrEnum):
    COMPLETE = "complete"  # covered, ended, and synced past its end
    PARTIAL = "partial"  # covered so far: still in progress, or not synced to its end
    BEFORE_HISTORY = "before_history"  # starts before the first day held in full
    NOT_SYNCED = "not_synced"  # nothing of it synced yet (or a source never synced whole)


# The states without a value, and the reason the API gives for the null.
NO_VALUE = frozenset({PeriodState.BEFORE_HISTORY, PeriodState.NOT_SYNCED})


def synced_until_of(last_successes: Iterable[datetime | None]) -> datetime | None:
    """The earliest last success over a source's streams; None when one never succeeded,
    or there are none."""
    moments = list(last_successes)
    if not moments or any(m is None for m in moments):
        return None
    return min(m for m in moments if m is not None)


def period_in_progress(period: Period, today: date) -> bool:
    """Whether the period has not ended on `today` (a manual KPI's "so far")."""
    return today < period.end


@dataclass(frozen=True, slots=True)
class SourceCoverage:
    source_id: int
    name: str
    history_from: date | None
    synced_until: datetime | None  # UTC


@dataclass(frozen=True, slots=True)
class ScopeCoverage:
    """The coverage of the sources a KPI value is made from, in the reporting zone `tz`."""

    sources: tuple[SourceCoverage, ...]
    tz: tzinfo

    @property
    def history_from(self) -> date | None:
        """The latest first complete day over the sources; None when one has none, or
        there are no sources."""
        days = [s.history_from for s in self.sources]
        if not days or any(d is None for d in days):
            return None
        return max(d for d in days if d is not None)

    @property
    def synced_until(self) -> datetime | None:
        """The earliest `synced_until` over the sources; None when one has none."""
        return synced_until_of(s.synced_until for s in self.sources)

    def state(self, period: Period, as_of: date) -> PeriodState:
        """Where `period` stands on `as_of` (a day in the reporting zone), checked in this
        order:

        1. NOT_SYNCED: no source, a source without a complete history yet or never synced,
           or the sync has not reached the period's start (local midnight, as a UTC instant).
        2. BEFORE_HISTORY: the period starts before the first day held in full (a period
           only partly covered counts as uncovered: its value would be too low).
        3. PARTIAL: the period's last day is after `as_of`, or the sync stopped before the
           period's end (the UTC instant of the local midnight that ends it).
        4. COMPLETE otherwise.
        """
        history_from, synced_until = self.history_from, self.synced_until
        start, end = utc_bounds(period.start, period.last_day, self.tz)
        if history_from is None or synced_until is None or synced_until <= start:
            return PeriodState.NOT_SYNCED
        if period.start < history_from:
            return PeriodState.BEFORE_HISTORY
        if period.last_day > as_of or synced_until < end:
            return PeriodState.PARTIAL
        return PeriodState.COMPLETE

    def reason(self, period: Period, as_of: date) -> str | None:
        """`before_history` or `not_synced` when the period has no value, else None."""
        state = self.state(period, as_of)
        return state.value if state in NO_VALUE else None

    def partial(self, period: Period, as_of: date) -> bool:
        """Whether the period's value is one "so far" (the state is PARTIAL). A period
        without a value (a reason) is not partial, even while it is in progress."""
        return self.state(period, as_of) is PeriodState.PARTIAL


class Coverage:
    """The coverage of every source, loaded once (per request)."""

    def __init__(self, sources: Iterable[SourceCoverage], tz: tzinfo) -> None:
        self.sources = {s.source_id: s for s in sources}
        self.tz = tz

    @classmethod
    def load(cls, session: Session, tz: tzinfo) -> Coverage:
        successes: dict[int, list[datetime | None]] = defaultdict(list)
        for source_id, last_success_at in session.execute(
            select(SyncCursor.source_id, SyncCursor.last_success_at)
        ):
            successes[source_id].append(last_success_at)
        rows = session.execute(
            select(Source.id, Source.name, Source.history_from).order_by(Source.id)
        )
        return cls(
            (
                SourceCoverage(
                    source_id=source_id,
                    name=name,
                    history_from=history_from,
                    synced_until=synced_until_of(successes.get(source_id, [])),
                )
                for source_id, name, history_from in rows
            ),
            tz,
        )

    def for_source(self, source_id: int | None) -> ScopeCoverage:
        """One source's coverage, or (None) every source's together."""
        if source_id is None:
            chosen = tuple(self.sources.values())
        else:
            found = self.sources.get(source_id)
            chosen = (found,) if found is not None else ()
        return ScopeCoverage(chosen, self.tz)
