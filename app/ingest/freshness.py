"""How fresh each stream of a source is, and whether the source is stale.

Two moments per stream, with their ages:

- `last_checked_at`: when the stream last synced successfully (the start of that sync: every
  change made before it has been read). A check that found nothing new is still a check.
- `newest_change_at`: the newest change stamp (the stream's `cursor_field`, e.g.
  ConnectWise's `_info/lastUpdated`, Autotask's `lastActivityDate`) among the records it
  has read, by the PSA's clock; kept on the stream's cursor row as pages are stored.
  Streams without a change stamp (id sweeps, full refreshes) have none.

A stream is stale when it has not been checked for `stale_after` of its own intervals (3 by
default: tickets unchecked for 3 minutes at the 60-second live cadence); one never checked
counts from when its source's settings were last written (added, changed). A source is stale
when any of its streams is, and only while it is `active`: a paused or refused source is not
synced at all, and says so itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingest.models import SyncCursor
from app.ingest.registry import registry
from app.sources.governor import CALM, Pace
from app.sources.models import Source, SourceStatus
from app.sources.pace_view import current_pace
from connectors.sdk import Record, StreamSpec, SyncInterval


@dataclass(frozen=True, slots=True)
class StreamFreshness:
    name: str
    cadence: SyncInterval
    interval_seconds: int
    last_checked_at: datetime | None
    checked_age_seconds: int | None
    newest_change_at: datetime | None
    change_age_seconds: int | None
    stale: bool


@dataclass(frozen=True, slots=True)
class SourceFreshness:
    stale: bool
    streams: tuple[StreamFreshness, ...]


def _stamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None  # a stamp Northstar cannot read tells nothing about freshness
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def newest_change(spec: StreamSpec, records: Iterable[Record]) -> datetime | None:
    """The newest change stamp among `records`, read from the stream's `cursor_field`
    (`a/b` for a nested field); None when the stream has none or no record carried one."""
    if spec.cursor_field is None:
        return None
    path = spec.cursor_field.split("/")
    newest: datetime | None = None
    for record in records:
        value: object = record
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        stamp = _stamp(value)
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    return newest


def _age(now: datetime, moment: datetime | None) -> int | None:
    # A stamp ahead of Northstar's clock (the PSA's clock runs fast) is "just now".
    return None if moment is None else max(0, int((now - moment).total_seconds()))


def stream_freshness(
    source: Source,
    spec: StreamSpec,
    state: SyncCursor | None,
    now: datetime,
    stale_after: int,
    pace: Pace = CALM,
) -> StreamFreshness:
    interval = source.interval_seconds(spec.interval)
    # While the budget stretches the intervals, a stream checked less often by design is not
    # stale for it: it is measured against the interval it is checked at now.
    paced = pace.interval(timedelta(seconds=interval), slow=spec.interval is SyncInterval.SLOW)
    checked = state.last_success_at if state else None
    changed = state.newest_change_at if state else None
    counted_from = checked or max(source.created_at, source.credentials_updated_at)
    stale = (
        source.status == SourceStatus.ACTIVE
        and (now - counted_from).total_seconds() > stale_after * paced.total_seconds()
    )
    return StreamFreshness(
        name=spec.name,
        cadence=spec.interval,
        interval_seconds=interval,
        last_checked_at=checked,
        checked_age_seconds=_age(now, checked),
        newest_change_at=changed,
        change_age_seconds=_age(now, changed),
        stale=stale,
    )


def source_freshness(
    source: Source,
    cursors: Mapping[str, SyncCursor],
    now: datetime,
    stale_after: int,
    pace: Pace = CALM,
) -> SourceFreshness:
    """Every stream the source's connector declares, in its order (none when the connector
    is not installed), against the intervals its `pace` checks them at."""
    cls = registry.get(source.kind)
    specs: Sequence[StreamSpec] = list(cls.streams.values()) if cls else []
    streams = tuple(
        stream_freshness(source, spec, cursors.get(spec.name), now, stale_after, pace)
        for spec in specs
    )
    return SourceFreshness(stale=any(s.stale for s in streams), streams=streams)


def freshness_by_source(
    session: Session, sources: Iterable[Source], now: datetime, stale_after: int
) -> dict[int, SourceFreshness]:
    """The freshness of each of `sources`, from one read of the cursor table."""
    cursors: dict[int, dict[str, SyncCursor]] = defaultdict(dict)
    for state in session.scalars(select(SyncCursor)):
        cursors[state.source_id][state.stream] = state
    return {
        source.id: source_freshness(
            source, cursors[source.id], now, stale_after, current_pace(session, source, now)[0]
        )
        for source in sources
    }
