"""Which streams a sync runs, and what each is given.

- Due: a stream runs when the interval of its cadence (live, fast or slow: the source's
  `interval_seconds`) has passed, outside any failure backoff. A "sync now" request runs
  every stream, those in a backoff included: someone asked.
- `since` (a backfill's start) bounds the history of dated facts only (tickets, time,
  surveys). Clients, technicians and agreements are read whole: an agreement last edited
  before the date still bills today.
- An id sweep right after a complete first read of the same collection in the same sync has
  nothing to find (every stored record was just read): it is skipped, not run.
- Likewise a deletion log read for the first time into a source that holds none of the facts
  it removes: what was deleted before this sync was never stored, so it is read only from
  shortly before the sync began.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from app.errors import InvalidInput
from app.ingest.models import SyncCursor
from app.sources.governor import CALM, Pace
from app.sources.models import Source
from connectors.sdk import FactType, StreamMode, StreamSpec, SyncInterval

DATED_FACTS = frozenset({FactType.TICKET, FactType.TIME_ENTRY, FactType.SURVEY_RESPONSE})
# A job firing exactly on the interval must not find its stream a few seconds too fresh:
# 5 seconds, or a tenth of a short interval (1.5 s of a 15-second live cadence).
INTERVAL_SLACK = timedelta(seconds=5)
# How far before the sync's start a deletion log's first read begins: room for a PSA whose
# clock is hours behind Northstar's (its own stamps set the watermark after that).
DELETION_LOG_MARGIN = timedelta(days=1)
REDUNDANT_SWEEP_NOTE = (
    "Not needed: every {facts} was read a moment ago by this sync's first complete read, "
    "so none can be missing."
)
SLACK_SHARE = 0.1


def interval_slack(interval: timedelta) -> timedelta:
    """How much too fresh a stream may be and still be due: `INTERVAL_SLACK`, at most a
    tenth of its interval."""
    return min(INTERVAL_SLACK, interval * SLACK_SHARE)


def job_interval_seconds(source: Source, specs: Sequence[StreamSpec]) -> int:
    """How often the source's scheduled job fires: the shortest interval of its streams
    (the live one for a PSA with tickets), so every stream is looked at when it is due."""
    cadences = {spec.interval for spec in specs} or {SyncInterval.FAST}
    return min(source.interval_seconds(cadence) for cadence in cadences)


def chosen_streams(
    source_name: str, specs: list[StreamSpec], names: Sequence[str] | None
) -> list[StreamSpec]:
    """The streams asked for by name (all when None), in declared order."""
    if names is None:
        return specs
    unknown = set(names) - {s.name for s in specs}
    if unknown:
        raise InvalidInput(
            f"Unknown stream(s) {', '.join(sorted(unknown))}. {source_name} has: "
            + ", ".join(s.name for s in specs),
            code="unknown_stream",
        )
    return [s for s in specs if s.name in names]


def is_dated(spec: StreamSpec) -> bool:
    """Whether the stream's records are dated facts a backfill's `since` may bound."""
    return bool(DATED_FACTS.intersection(spec.produces))


def due_streams(
    source: Source,
    specs: Sequence[StreamSpec],
    cursors: Mapping[str, SyncCursor],
    now: datetime,
    *,
    requested: bool,
    pace: Pace = CALM,
) -> list[str]:
    """Every stream when a sync was requested; otherwise those whose own cadence's interval,
    stretched by the source's `pace`, has passed, outside any failure backoff."""
    if requested:
        return [spec.name for spec in specs]
    due = []
    for spec in specs:
        state = cursors.get(spec.name)
        if state is None:
            due.append(spec.name)
            continue
        if state.next_attempt_at is not None and state.next_attempt_at > now:
            continue
        interval = pace.interval(
            timedelta(seconds=source.interval_seconds(spec.interval)),
            slow=spec.interval is SyncInterval.SLOW,
        )
        fresh = (
            state.last_success_at is not None
            and now - state.last_success_at < interval - interval_slack(interval)
        )
        if not fresh:
            due.append(spec.name)
    return due


def redundant_sweep(
    spec: StreamSpec, first_reads: set[FactType], held_before: set[FactType]
) -> bool:
    """An id sweep whose collection was read whole from the start in this sync, into a
    source that held none of it before: every id it would list was just stored."""
    return (
        spec.mode is StreamMode.ID_SWEEP
        and spec.sweeps is not None
        and spec.sweeps in first_reads
        and spec.sweeps not in held_before
    )


def deletion_log_start(
    spec: StreamSpec,
    since: datetime | None,
    first_read: bool,
    *,
    held_before: set[FactType],
    sync_started: datetime,
) -> datetime | None:
    """Where a deletion log's read starts: on its first read into a source that held none of
    the facts it removes, a margin before this sync began (nothing older can match a stored
    fact); otherwise `since` (the backfill's date, or None)."""
    if not (spec.deletion_log and first_read) or held_before.intersection(spec.produces):
        return since
    start = sync_started - DELETION_LOG_MARGIN
    return start if since is None else max(since, start)


def stream_intervals(
    source: Source, specs: Sequence[StreamSpec]
) -> tuple[dict[str, timedelta], dict[str, timedelta]]:
    """The streams' own intervals: (the frequent ones, the slow ones)."""
    frequent: dict[str, timedelta] = {}
    slow: dict[str, timedelta] = {}
    for spec in specs:
        interval = timedelta(seconds=source.interval_seconds(spec.interval))
        (slow if spec.interval is SyncInterval.SLOW else frequent)[spec.name] = interval
    return frequent, slow


def in_run_order(specs: Sequence[StreamSpec], held_before: set[FactType]) -> list[StreamSpec]:
    """The order a sync runs its streams in: the live ones (tickets, time) first once the
    source holds facts, so a change is not kept waiting behind an hourly re-read; declared
    order otherwise (a first sync reads what later streams look up first), and among
    streams of the same kind (time entries look up the tickets just read)."""
    if not held_before:
        return list(specs)
    return sorted(specs, key=lambda spec: spec.interval is not SyncInterval.LIVE)


def moves_kpis_now(spec: StreamSpec, facts_changed: int) -> bool:
    """Whether the KPI days a stream just changed are re-aggregated straight after it,
    rather than once at the end of the sync: for the live streams."""
    return facts_changed > 0 and spec.interval is SyncInterval.LIVE
