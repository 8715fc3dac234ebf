"""Reading passes over Autotask entities, resumable page by page.

Incremental streams walk a *pass*: a fixed lower bound on the change stamps (`pass_since`)
and `id gt last_id` ascending, 500 a page, never following `nextPageUrl`. The cursor after
each page is `{"pass_since", "pass_started", "seen_until", "last_id"}` (`seen_until`: the
latest change stamp read so far); after the last page it becomes the start of the next
pass, `{"pass_since": min(pass_started, seen_until) - lookback, "pass_started": None,
"last_id": None}`, so the watermark never moves past the sync's start, nor past what
Autotask has shown (its clock may lag ours), and a record changed during a pass is read
again by the next one. Keyset paging neither skips nor repeats rows
when records change between pages, and a resumed pass continues after `last_id`.

Full-refresh and id-sweep streams (no change stamp) walk all ids with cursor `{"last_id"}`
(None after the last page: the next pass starts over) and report the ids they saw, so the
runner can sweep what disappeared; an id sweep asks for nothing but ids.

While the consumer handles a page, the next page is already being fetched, and a pass that
starts from nothing with many records is read as up to 3 id ranges at once (`ranges.py`);
the cursor then also carries `"ranges"`, the exact remaining work. The related rows a page
needs (SLA results, availabilities, service units, tickets and contracts of time entries)
are fetched with batched `in` queries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from connectors.autotask.api import AutotaskApi
from connectors.autotask.enrich import PageEnricher
from connectors.autotask.query import (
    MAX_RECORDS,
    Filter,
    changed_since,
    condition,
    format_datetime,
    parse_datetime,
    query_body,
)
from connectors.autotask.ranges import IdRange, plan_ranges, walk_ranges
from connectors.autotask.streams import QUERIES, STREAMS, EntityQuery
from connectors.sdk import Cursor, FatalError, Page, StreamMode

Records = list[dict[str, Any]]


def _parse_cursor_time(cursor: Cursor, key: str) -> datetime | None:
    value = cursor.get(key)
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise FatalError(f"The stored cursor has an unreadable {key}: {value!r}") from exc


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


def _latest_stamp(
    records: Records, stamps: Sequence[str], latest: datetime | None
) -> datetime | None:
    """The latest change stamp among `records` and `latest`."""
    for record in records:
        for field in stamps:
            try:
                stamp = parse_datetime(record.get(field))
            except ValueError:
                continue
            if stamp is not None and (latest is None or stamp > latest):
                latest = stamp
    return latest


def _ranges_of(cursor: Cursor) -> list[IdRange]:
    """The remaining ranges a cursor records (one open range after `last_id` by default)."""
    raw = cursor.get("ranges")
    if raw:
        return [[None if v is None else int(v) for v in pair] for pair in raw]
    last = cursor.get("last_id")
    return [[None if last is None else int(last), None]]


def _progress(remaining: list[IdRange]) -> dict[str, Any]:
    """`{"last_id"}` for one open range, else also `"ranges"`; `last_id` is then the low
    watermark (every id at or below it is done)."""
    if len(remaining) == 1 and remaining[0][1] is None:
        return {"last_id": remaining[0][0]}
    starts = [r[0] for r in remaining]
    low = None if None in starts else min(s for s in starts if s is not None)
    return {"last_id": low, "ranges": remaining}


class AutotaskReader:
    """Turns a stream name and cursor into pages of enriched records.

    A pass that starts from nothing (a backfill, a full refresh, an id sweep) with at least
    `split_min_records` records is read as `parallel_ranges` id ranges at once.
    """

    def __init__(
        self,
        api: AutotaskApi,
        enricher: PageEnricher,
        *,
        lookback: timedelta,
        now: datetime | None,
        parallel_ranges: int,
        split_min_records: int,
    ) -> None:
        self._api = api
        self._enricher = enricher
        self._lookback = lookback
        self._now = now
        self._parallel_ranges = parallel_ranges
        self._split_min_records = split_min_records

    async def read(
        self, stream: str, cursor: Cursor | None, *, since: datetime | None
    ) -> AsyncIterator[Page]:
        spec = STREAMS.get(stream)
        if spec is None:
            raise FatalError(f"Autotask has no stream named {stream!r}.")
        await self._api.note_tenant_usage()
        if spec.mode is StreamMode.FULL_REFRESH:
            pages = self._full_refresh(stream, cursor)
        elif spec.mode is StreamMode.ID_SWEEP:
            pages = self._full_refresh(stream, cursor, ids_only=True)
        else:
            pages = self._incremental(stream, cursor, since)
        async for page in pages:
            yield page

    async def _walk(
        self,
        query: EntityQuery,
        filters: Sequence[Filter],
        ranges: list[IdRange] | None,
        enrich: Callable[[Records], Awaitable[Records]],
    ) -> AsyncIterator[tuple[Records, list[IdRange]]]:
        """Enriched pages of the pass, resuming `ranges`, or planning them when None.
        Each range's walker enriches its own pages, so enrichment runs in parallel too."""
        entity, fields = query.entity, query.include_fields

        async def fetch(after_id: int | None, up_to_id: int | None) -> Records:
            bounded = filters
            if up_to_id is not None:
                bounded = [*filters, condition("lte", "id", up_to_id)]
            body = query_body(bounded, include_fields=fields, after_id=after_id)
            return await enrich(await self._api.query(entity, body))

        async def probe(after_id: int) -> int | None:
            body = query_body(filters, include_fields=(), after_id=after_id, max_records=1)
            found = await self._api.query(entity, body)
            return int(found[0]["id"]) if found else None

        if ranges is None:  # a pass from nothing: its first page tells whether to plan
            first = await fetch(None, None)
            if len(first) < MAX_RECORDS:
                yield first, []
                return
            last_id = int(first[-1]["id"])
            yield first, [[last_id, None]]
            ranges = await plan_ranges(
                last_id,
                ids_per_record=(last_id - int(first[0]["id"]) + 1) / len(first),
                probe=probe,
                parts=self._parallel_ranges,
                min_records=self._split_min_records,
            )
        async for records, remaining in walk_ranges(fetch, ranges, page_size=MAX_RECORDS):
            yield records, remaining

    async def _incremental(
        self, stream: str, cursor: Cursor | None, since: datetime | None
    ) -> AsyncIterator[Page]:
        query = QUERIES[stream]
        started: datetime | None = None
        seen_until: datetime | None = None
        ranges: list[IdRange] | None = None
        if cursor:
            pass_since = _parse_cursor_time(cursor, "pass_since")
            started = _parse_cursor_time(cursor, "pass_started")
            if started is not None:  # resuming a pass
                ranges = _ranges_of(cursor)
                seen_until = _parse_cursor_time(cursor, "seen_until")
        else:
            pass_since = since
        if started is None:
            started = self._now or datetime.now(UTC)
        filters = list(query.fixed_filters)
        if pass_since is not None:
            filters.append(changed_since(query.change_stamps, pass_since))
            ranges = ranges or [[None, None]]  # changes are few: no probing

        enrich = partial(self._enricher.enrich, stream)
        async for records, remaining in self._walk(query, filters, ranges, enrich):
            seen_until = _latest_stamp(records, query.change_stamps, seen_until)
            if remaining:
                page_cursor = {
                    "pass_since": _iso(pass_since),
                    "pass_started": _iso(started),
                    "seen_until": _iso(seen_until),
                } | _progress(remaining)
            else:
                page_cursor = {
                    "pass_since": _iso(self._next_since(pass_since, started, seen_until)),
                    "pass_started": None,
                    "last_id": None,
                }
            yield Page(records=records, cursor=page_cursor)

    def _next_since(
        self, pass_since: datetime | None, started: datetime, seen_until: datetime | None
    ) -> datetime | None:
        """The next pass's lower bound: this pass's start, or the latest change stamp Autotask
        showed if that is earlier (its clock may lag ours), minus the lookback. A pass that
        saw nothing keeps its bound: nothing anchors a later one."""
        if seen_until is None:
            return pass_since
        return min(started, seen_until) - self._lookback

    async def _full_refresh(
        self, stream: str, cursor: Cursor | None, *, ids_only: bool = False
    ) -> AsyncIterator[Page]:
        query = QUERIES[stream]
        resuming = cursor is not None and (
            cursor.get("last_id") is not None or bool(cursor.get("ranges"))
        )
        ranges = _ranges_of(cursor) if cursor is not None and resuming else None

        async def enrich(records: Records) -> Records:
            return records if ids_only else await self._enricher.enrich(stream, records)

        async for records, remaining in self._walk(query, query.fixed_filters, ranges, enrich):
            yield Page(
                records=[] if ids_only else records,
                cursor=_progress(remaining) if remaining else {"last_id": None},
                seen_ids=[str(record["id"]) for record in records],
            )
