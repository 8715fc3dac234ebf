"""Resumable keyset passes over id windows, optionally read in parallel.

A *pass* reads every record changed since a fixed lower bound (`pass_since`, None: all of
them), walking ids upwards. Its id space is split into windows `(after_id, upto_id]`; a big
pass is split into up to `concurrency` windows read side by side, a small one uses one open
window.

The next pass's lower bound comes from the PSA's own clock, never from Northstar's: the
`Date` header of the pass's first answer (`psa_started`) and the newest `_info.lastUpdated`
the pass handed on (`seen_until`). The watermark is the earlier of the two (just
`psa_started` when no record was seen; Northstar's start only when ConnectWise sent no `Date`
at all). A change made after the pass began carries a stamp at or after `psa_started`, so it
is read by the next pass however far ConnectWise's clock is from ours.

Cursor contract (JSON, stored by the runner with each page's facts):

- mid-pass: `{"pass_since": iso|None, "pass_started": iso, "windows": [[after_id,
  upto_id|None], ...], "psa_started": iso|None, "seen_until": iso|None}` plus, when set,
  `"whole": true` (a scheduled re-read that ignores `lastUpdated`), `"degraded"` and the
  stream's carried keys (below). Each window lists only the ids *not yet yielded*: a window
  advances only when one of its pages is handed to the runner, so pages fetched ahead but not
  yet stored are read again after a crash, and nothing stored is read twice;
- after the last page: `{"watermark": iso}`, plus `"degraded"` and carried keys. The next pass
  reads from `watermark - lookback`.
- `"degraded": {reference: iso|None}`: records were enriched without that reference table
  since that lower bound (None: since the beginning); they are read again once it answers.
- Cursors written before the PSA clock was used (`{"watermark": <Northstar time>}`, mid-pass
  cursors without `psa_started`) stay readable and resume as they did.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.connectwise.record_fields import parse_instant
from connectors.sdk import Cursor, FatalError

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class WindowPage:
    """One page of an id window.

    `exhausted`: the window has nothing after it; `next_after`: the id the window continues
    after (None: the page had no record with an id); `server_time`: the PSA's clock when it
    answered; `last_page`: how many pages a navigable answer said there are; `warnings`: what
    the page's records had to do without (`degraded`: the tables' keys).
    """

    records: list[Record]
    exhausted: bool
    next_after: int | None = None
    server_time: datetime | None = None
    last_page: int | None = None
    warnings: tuple[str, ...] = ()
    degraded: tuple[str, ...] = ()


# fetch(after_id, upto_id) -> the next page of records in (after_id, upto_id], ascending.
FetchWindow = Callable[[int, int | None], Awaitable[WindowPage]]


@dataclass(slots=True)
class Window:
    """Ids `(after_id, upto_id]` still to read (`upto_id` None: open-ended)."""

    after_id: int
    upto_id: int | None
    done: bool = False


@dataclass(slots=True)
class PassState:
    pass_since: datetime | None
    pass_started: datetime
    windows: list[Window]
    psa_started: datetime | None = None
    seen_until: datetime | None = None
    whole: bool = False
    degraded: dict[str, str | None] = field(default_factory=dict)
    carry: dict[str, Any] = field(default_factory=dict)

    def to_cursor(self) -> dict[str, Any]:
        """The mid-pass cursor, or the finished one once every window is done."""
        open_windows = [[w.after_id, w.upto_id] for w in self.windows if not w.done]
        if not open_windows:
            return self.finished_cursor()
        cursor: dict[str, Any] = {
            "pass_since": _iso(self.pass_since),
            "pass_started": _iso(self.pass_started),
            "windows": open_windows,
            "psa_started": _iso(self.psa_started),
            "seen_until": _iso(self.seen_until),
        }
        if self.whole:
            cursor["whole"] = True
        return cursor | self._kept()

    def finished_cursor(self) -> dict[str, Any]:
        return {"watermark": _iso(self.watermark())} | self._kept()

    def _kept(self) -> dict[str, Any]:
        kept = dict(self.carry)
        if self.degraded:
            kept["degraded"] = dict(self.degraded)
        return kept

    def watermark(self) -> datetime:
        """Where the next pass starts (before its lookback): PSA time, never later than
        anything the PSA said during this pass."""
        psa_now = self.psa_started or self.pass_started
        return psa_now if self.seen_until is None else min(psa_now, self.seen_until)

    def note(self, page: WindowPage, cursor_field: str | None) -> None:
        """Take in what a page handed on says about the PSA's clock and what it lacked."""
        if page.server_time is not None:
            earliest = self.psa_started
            self.psa_started = (
                page.server_time if earliest is None else min(earliest, page.server_time)
            )
        newest = newest_stamp(page.records, cursor_field)
        if newest is not None and (self.seen_until is None or newest > self.seen_until):
            self.seen_until = newest
        for key in page.degraded:
            self.mark_degraded(key)

    def mark_degraded(self, key: str) -> None:
        """Remember that this pass's records were enriched without `key`."""
        since = self.pass_since if not self.whole else None
        if key in self.degraded:
            since = _earlier(parse_instant(self.degraded[key]), since, none_first=True)
        self.degraded[key] = _iso(since)

    @property
    def finished(self) -> bool:
        return all(window.done for window in self.windows)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def parse_cursor_time(value: Any) -> datetime | None:
    return parse_instant(value)


def _earlier(
    first: datetime | None, second: datetime | None, *, none_first: bool
) -> datetime | None:
    """The earlier of two bounds; with `none_first`, None means "the beginning"."""
    if first is None or second is None:
        return None if none_first else (first or second)
    return min(first, second)


def newest_stamp(records: list[Record], cursor_field: str | None) -> datetime | None:
    """The newest change stamp (`_info/lastUpdated`) among `records`."""
    if cursor_field is None:
        return None
    head, _, leaf = cursor_field.rpartition("/")
    # ConnectWise's own form (`2025-03-04T16:20:11Z`) orders as text: parse only the newest.
    newest_text = ""
    others: list[str] = []
    for record in records:
        holder: Any = record.get(head) if head else record
        value = holder.get(leaf) if isinstance(holder, Mapping) else None
        if not isinstance(value, str):
            continue
        if len(value) == len("2025-03-04T16:20:11Z") and value.endswith("Z"):
            newest_text = max(newest_text, value)
        else:
            others.append(value)
    stamps = [
        stamp for text in [newest_text, *others] if (stamp := parse_instant(text)) is not None
    ]
    return max(stamps) if stamps else None


def resume_state(cursor: Cursor | None) -> PassState | None:
    """The pass a mid-pass cursor describes, or None when a new pass must start."""
    if not cursor or "windows" not in cursor:
        return None
    started = parse_instant(cursor.get("pass_started"))
    if started is None:
        return None
    windows = [
        Window(int(after), None if upto is None else int(upto)) for after, upto in cursor["windows"]
    ]
    psa_started = parse_instant(cursor.get("psa_started"))
    if "psa_started" not in cursor:
        psa_started = started  # written before the PSA clock was used: its old guard
    return PassState(
        parse_instant(cursor.get("pass_since")),
        started,
        windows,
        psa_started=psa_started,
        seen_until=parse_instant(cursor.get("seen_until")),
        whole=cursor.get("whole") is True,
        degraded=degraded_of(cursor),
        carry={key: cursor[key] for key in CARRIED_KEYS if key in cursor},
    )


# Stream-specific keys a cursor keeps from pass to pass (see `reader.py`).
CARRIED_KEYS = ("parent_id", "additions_read_at")


def degraded_of(cursor: Cursor | None) -> dict[str, str | None]:
    found = cursor.get("degraded") if cursor else None
    if not isinstance(found, Mapping):
        return {}
    return {str(key): value if isinstance(value, str) else None for key, value in found.items()}


def next_pass_since(
    cursor: Cursor | None, since: datetime | None, lookback: timedelta
) -> datetime | None:
    """Lower bound of a new pass: the last watermark minus the lookback, else `since`."""
    watermark = parse_instant(cursor.get("watermark")) if cursor else None
    if watermark is not None:
        return watermark - lookback
    return since


def lower_bound(bound: datetime | None, other: str | None) -> datetime | None:
    """`bound` lowered to a degraded reference's bound (None: the beginning)."""
    return _earlier(bound, parse_instant(other), none_first=True)


async def run_pass(
    state: PassState, fetch: FetchWindow, *, cursor_field: str | None, prefetch: int = 4
) -> AsyncIterator[tuple[WindowPage, dict[str, Any]]]:
    """Yield `(page, cursor)` per page until every window is done.

    The last item always carries the finished cursor (possibly with no records). Several
    windows are read concurrently (the HTTP client enforces the source's concurrency limit),
    each at most `prefetch` pages ahead of what has been yielded.
    """
    if sum(not window.done for window in state.windows) > 1:
        async for item in _run_parallel(state, fetch, prefetch, cursor_field):
            yield item
        return
    for window in state.windows:
        while not window.done:
            page = await fetch(window.after_id, window.upto_id)
            advance(window, page)
            state.note(page, cursor_field)
            if page.records or window.done:
                yield page, state.to_cursor()
    if not state.windows:
        yield WindowPage([], True), state.to_cursor()


def advance(window: Window, page: WindowPage) -> None:
    """Record that `page` of `window` has been handed on."""
    if page.next_after is not None:
        if page.next_after <= window.after_id:
            raise FatalError(
                f"Paging did not move forward (id {page.next_after} after {window.after_id}); "
                "ConnectWise ignored the id filter or the ordering.",
                code="psa_paging_loop",
            )
        window.after_id = page.next_after
    elif page.records and not page.exhausted:
        raise FatalError(
            "ConnectWise sent a full page of records without ids; paging cannot go on.",
            code="psa_paging_loop",
        )
    window.done = page.exhausted


async def _run_parallel(
    state: PassState, fetch: FetchWindow, prefetch: int, cursor_field: str | None
) -> AsyncIterator[tuple[WindowPage, dict[str, Any]]]:
    queue: asyncio.Queue[tuple[Window, WindowPage] | Exception] = asyncio.Queue()

    async def read_window(window: Window, tokens: asyncio.Semaphore) -> None:
        # Reads ahead on its own copy of the position: `window` itself only advances when
        # the consumer yields a page, which is what the cursor may promise.
        after_id = window.after_id
        try:
            while True:
                await tokens.acquire()
                page = await fetch(after_id, window.upto_id)
                await queue.put((window, page))
                if page.exhausted or page.next_after is None:
                    return
                after_id = page.next_after
        except Exception as error:  # handed to the consumer, which re-raises it
            await queue.put(error)

    tokens = {id(window): asyncio.Semaphore(prefetch) for window in state.windows}
    tasks = [
        asyncio.create_task(read_window(window, tokens[id(window)]))
        for window in state.windows
        if not window.done
    ]
    try:
        while not state.finished:
            item = await queue.get()
            if isinstance(item, Exception):
                raise item
            window, page = item
            tokens[id(window)].release()
            advance(window, page)
            state.note(page, cursor_field)
            if page.records or state.finished:
                yield page, state.to_cursor()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
