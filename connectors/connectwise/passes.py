"""Resumable keyset passes over id windows, optionally read in parallel.

A *pass* reads every record changed since a fixed lower bound (`pass_since`, None: all of
them), walking ids upwards (`id > last_id`, ascending). Its id space is split into windows
`(after_id, upto_id]`; a first full backfill splits it into up to `concurrency` windows read
side by side, an incremental pass uses one open window.

Cursor contract (JSON, stored by the runner with each page's facts):

- mid-pass: `{"pass_since": iso|None, "pass_started": iso,
  "windows": [[after_id, upto_id|None], ...]}`
  where each window lists only the ids *not yet yielded*: a window advances only when one of
  its pages is handed to the runner, so pages fetched ahead but not yet stored are read again
  after a crash, and nothing stored is read twice;
- after the last page: `{"watermark": iso}` = the pass's start. The next pass reads from
  `watermark - lookback`; the watermark never moves past the start of the sync that set it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.sdk import Cursor, FatalError

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class WindowPage:
    """One page of an id window; `exhausted` says the window has nothing after it."""

    records: list[Record]
    exhausted: bool


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

    def to_cursor(self) -> dict[str, Any]:
        """The mid-pass cursor, or the finished one once every window is done."""
        open_windows = [[w.after_id, w.upto_id] for w in self.windows if not w.done]
        if not open_windows:
            return finished_cursor(self.pass_started)
        return {
            "pass_since": _iso(self.pass_since),
            "pass_started": _iso(self.pass_started),
            "windows": open_windows,
        }

    @property
    def finished(self) -> bool:
        return all(window.done for window in self.windows)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def finished_cursor(pass_started: datetime) -> dict[str, Any]:
    return {"watermark": _iso(pass_started)}


def resume_state(cursor: Cursor | None) -> PassState | None:
    """The pass a mid-pass cursor describes, or None when a new pass must start."""
    if not cursor or "windows" not in cursor:
        return None
    started = _parse(cursor.get("pass_started"))
    if started is None:
        return None
    windows = [
        Window(int(after), None if upto is None else int(upto)) for after, upto in cursor["windows"]
    ]
    return PassState(_parse(cursor.get("pass_since")), started, windows)


def next_pass_since(
    cursor: Cursor | None, since: datetime | None, lookback: timedelta
) -> datetime | None:
    """Lower bound of a new pass: the last watermark minus the lookback, else `since`."""
    watermark = _parse(cursor.get("watermark")) if cursor else None
    if watermark is not None:
        return watermark - lookback
    return since


async def run_pass(
    state: PassState, fetch: FetchWindow, *, prefetch: int = 4
) -> AsyncIterator[tuple[list[Record], dict[str, Any]]]:
    """Yield `(records, cursor)` per page until every window is done.

    The last item always carries the finished cursor (possibly with no records). Several
    windows are read concurrently (the HTTP client enforces the source's concurrency limit),
    each at most `prefetch` pages ahead of what has been yielded.
    """
    if len(state.windows) > 1:
        async for item in _run_parallel(state, fetch, prefetch):
            yield item
        return
    for window in state.windows:
        while not window.done:
            page = await fetch(window.after_id, window.upto_id)
            _advance(window, page)
            if page.records or window.done:
                yield page.records, state.to_cursor()
    if not state.windows:
        yield [], state.to_cursor()


def _advance(window: Window, page: WindowPage) -> None:
    """Record that `page` of `window` has been handed on."""
    if page.records:
        last = int(page.records[-1]["id"])
        if last <= window.after_id:
            raise FatalError(
                f"Paging did not move forward (id {last} after {window.after_id}); "
                "ConnectWise ignored the id filter or the ordering.",
                code="psa_paging_loop",
            )
        window.after_id = last
    window.done = page.exhausted


async def _run_parallel(
    state: PassState, fetch: FetchWindow, prefetch: int
) -> AsyncIterator[tuple[list[Record], dict[str, Any]]]:
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
                if page.exhausted:
                    return
                after_id = int(page.records[-1]["id"])
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
            _advance(window, page)
            if page.records or state.finished:
                yield page.records, state.to_cursor()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
