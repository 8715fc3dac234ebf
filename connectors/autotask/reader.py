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
runner can sweep what disappeared; an id sweep asks for nothing but ids, and when given
`{"id_range": [low, high]}` (one slice of a rolling sweep) only those of `id gte low` and
`id lt high` (planned and split like any pass, within those filters).

While the consumer handles a page, the next page is already being fetched, and a pass that
starts from nothing with many records is read as up to 3 id ranges at once (`ranges.py`,
planned from counts while the first page is enriched and stored); the cursor then also
carries `"ranges"`, the exact remaining work. The related rows a page needs (SLA results,
availabilities, service units, tickets and contracts of time entries) are fetched with
batched `in` queries (`related.py`) while the page's lane fetches its next page; a pass that
reads every ticket of its ranges reads their SLA results ahead by ticket-id range instead
(`related_windows.py`). A page is yielded, with its cursor, only once its related rows are
attached. A record without an id is handed on (normalisation rejects it) and paging goes on
after the last record that has one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.autotask.api import AutotaskApi
from connectors.autotask.enrich import Enriched, PageEnricher
from connectors.autotask.fields import id_of, ids_of, last_id_of
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
from connectors.autotask.related_windows import RelatedWindow
from connectors.autotask.streams import QUERIES, STREAMS, EntityQuery
from connectors.sdk import ConfigError, Cursor, FatalError, Page, StreamMode
from connectors.sdk.paging import PrimedFetch, sweep_id_range

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
        stream: str,
        query: EntityQuery,
        filters: Sequence[Filter],
        ranges: list[IdRange] | None,
        *,
        enrich: bool = True,
        every_record: bool = False,
        count_first: bool = True,
    ) -> AsyncIterator[tuple[Enriched, list[IdRange]]]:
        """Enriched pages of the pass, resuming `ranges`, or planning them when None.
        Each page is enriched while its lane fetches the next one. `every_record`: the pass
        reads every record of its ranges (no filter), so related rows may be read ahead by
        id range (`PageEnricher.window`). `count_first`: a pass from nothing asks beside its
        first page how many records it holds (one request more when that page is short)."""
        entity, fields = query.entity, query.include_fields

        async def fetch(after_id: int | None, up_to_id: int | None) -> Records:
            bounded = filters
            if up_to_id is not None:
                bounded = [*filters, condition("lte", "id", up_to_id)]
            body = query_body(bounded, include_fields=fields, after_id=after_id)
            return await self._api.query(entity, body)

        async def count(after_id: int, up_to_id: int | None) -> int:
            bounded = [*filters, condition("gt", "id", after_id)]
            if up_to_id is not None:
                bounded.append(condition("lte", "id", up_to_id))
            return await self._api.count(entity, bounded)

        async def finish(lane: int, records: Records) -> Enriched:
            if not enrich:
                return Enriched(records)
            return await self._enricher.enrich(stream, records, windows[lane])

        windows: list[RelatedWindow | None] = []
        primed: PrimedFetch[Records] | None = None
        pages: AsyncIterator[tuple[Enriched, list[IdRange]]] | None = None
        ahead: asyncio.Future[tuple[Enriched, list[IdRange]]] | None = None

        def start_ranges(ranges: list[IdRange]) -> AsyncIterator[tuple[Enriched, list[IdRange]]]:
            windows.extend(
                self._enricher.window(stream, r[0], r[1]) if enrich and every_record else None
                for r in ranges
            )
            return walk_ranges(primed or fetch, finish, ranges, page_size=MAX_RECORDS)

        if ranges is None:  # a pass from nothing: its first page tells whether to plan
            # Asked beside the first page: how many records the pass holds, so that a full
            # first page is followed at once by its ranges read side by side.
            counting = count_first and self._parallel_ranges > 1
            counted = asyncio.ensure_future(count(0, None)) if counting else None
            if count_first and enrich:
                self._enricher.prefetch(stream)
            try:
                first = await fetch(None, None)
            except BaseException:
                await _dropped(counted)
                raise
            # Its related rows by `in` batch: no lane is planned yet.
            first_page = (
                asyncio.ensure_future(self._enricher.enrich(stream, first)) if enrich else None
            )
            last_id, ids = last_id_of(first), ids_of(first)
            if len(first) < MAX_RECORDS or last_id is None:
                await _dropped(counted)
                yield (await first_page if first_page else Enriched(first)), []
                return
            planning = asyncio.ensure_future(  # while the first page is enriched and stored
                self._plan(last_id, ids, counted, count)
            )
            try:
                enriched_first = await first_page if first_page else Enriched(first)
                if counted is not None:
                    # Counted beside the first page, the ranges need no more round trip
                    # (a big backfill: its count rounds): their first pages are asked for
                    # now, and come while the first page is stored.
                    ranges = await planning
                    primed = PrimedFetch(fetch, [(r[0], r[1]) for r in ranges])
                    # The ranges are walked (their pages enriched) while the first page is
                    # stored, not after: no round trip waits for the store.
                    pages = start_ranges(ranges)
                    ahead = asyncio.ensure_future(anext(pages))
                yield enriched_first, [[last_id, None]]
                ranges = await planning
            except BaseException:
                await _dropped(ahead)
                await _closed(pages)
                if primed is not None:  # the read ends here: nothing will take those pages
                    await primed.close()
                await _closed_windows(windows)
                raise
            finally:
                for task in (first_page, planning, counted):
                    if task is not None and not task.done():
                        await _dropped(task)
        try:
            if pages is None:
                pages = start_ranges(ranges)
            if ahead is not None:
                try:
                    yield await ahead
                except StopAsyncIteration:
                    return
            async for enriched, remaining in pages:
                yield enriched, remaining
        finally:
            await _dropped(ahead)
            await _closed(pages)
            if primed is not None:
                await primed.close()
            await _closed_windows(windows)

    async def _plan(
        self,
        last_id: int,
        first_ids: list[int],
        counted: asyncio.Future[int] | None,
        count: Callable[[int, int | None], Awaitable[int]],
    ) -> list[IdRange]:
        """The ranges after a full first page; `counted`: the pass's records, when asked."""
        remaining = None
        if counted is not None:
            with contextlib.suppress(FatalError, ConfigError):
                remaining = max(0, await counted - len(first_ids))
        return await plan_ranges(
            last_id,
            ids_per_record=(last_id - first_ids[0] + 1) / len(first_ids),
            count=count,
            parts=self._parallel_ranges,
            min_records=self._split_min_records,
            remaining=remaining,
            page_size=MAX_RECORDS,
        )

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

        every_record = pass_since is None and not query.fixed_filters
        # Only a stream's first read asks for a count beside its first page: a later pass
        # from nothing is a stream that has held nothing so far (a count would be wasted).
        pages = self._walk(
            stream, query, filters, ranges, every_record=every_record, count_first=not cursor
        )
        async for page, remaining in pages:
            seen_until = _latest_stamp(page.records, query.change_stamps, seen_until)
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
            yield Page(records=page.records, cursor=page_cursor, warnings=page.warnings)

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
        filters = list(query.fixed_filters)
        if ids_only:  # one slice of the ids only, when asked (a rolling sweep)
            low, high = sweep_id_range(cursor)
            if low is not None:
                filters.append(condition("gte", "id", low))
            if high is not None:
                filters.append(condition("lt", "id", high))

        pages = self._walk(stream, query, filters, ranges, enrich=not ids_only)
        async for page, remaining in pages:
            yield Page(
                records=[] if ids_only else page.records,
                cursor=_progress(remaining) if remaining else {"last_id": None},
                seen_ids=[str(i) for i in (id_of(r) for r in page.records) if i is not None],
                warnings=page.warnings,
            )


async def _dropped(task: asyncio.Future[Any] | None) -> None:
    """Cancel `task` (if still running) and swallow what it ends with."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _closed(pages: AsyncIterator[Any] | None) -> None:
    """Close a walk of ranges (its lanes stop), if one was started."""
    close = getattr(pages, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


async def _closed_windows(windows: list[RelatedWindow | None]) -> None:
    for window in windows:
        if window is not None:
            await window.close()
    windows.clear()
