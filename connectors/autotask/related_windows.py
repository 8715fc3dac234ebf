"""Related rows read ahead by parent-id range while a full pass reads the parents.

A full pass reads every parent (ticket) of an id range, page by page in id order. Its
related rows (the tickets' SLA results) can then be asked for by *range* of parent ids,
`ticketID gt low and ticketID lte high`, instead of one `in` batch per parent page. Each
range (a chunk) is sized from the related rows per parent id seen so far to fill about two
pages of 500 (`TARGET_ROWS`), so the requests stay near the related rows' own floor,
⌈rows ÷ 500⌉, whether a tenant has five SLA rows per page of tickets or five hundred.
Chunks are independent queries: several are read at once, and the chunks for the next
pages are already in flight when a page arrives.

One `RelatedWindow` serves one lane of the pass (one id range, `ranges.walk_ranges`). Its
first chunk is exactly the lane's first page; chunks wholly below a page are dropped once it
has asked (a lane's pages come in id order). Only for passes that read every parent of
their range: a filtered pass would fetch rows of parents it never reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from connectors.autotask.fields import ids_of, int_or_none

Records = list[dict[str, Any]]
# read_chunk(low, high) -> every related row whose parent id is in (low, high].
ReadChunk = Callable[[int, int], Awaitable[Records]]

# A chunk aims at 96 % of two pages: rows per parent id vary, and a chunk just over a page
# boundary costs one more, nearly empty request. (Measured on the sandbox's SLA results:
# 1.06 x their floor at one page a chunk, 1.04 x at two, 1.03 x at four; two pages still
# come back before the parents' lane has moved on by two pages.)
TARGET_ROWS = 960
LOOKAHEAD_PAGES = 2  # chunks are asked for up to two parent pages beyond the page at hand
MAX_PAGES_PER_CHUNK = 16  # few related rows: a chunk still ends within 16 parent pages


@dataclass(slots=True)
class _Chunk:
    low: int
    high: int
    rows: asyncio.Future[Records]


class RelatedWindow:
    """Related rows (`field` = the parent's id) for the parents of one lane, the id range
    (`after_id`, `up_to_id`], read ahead in chunks. `close` cancels what is in flight."""

    def __init__(
        self,
        read_chunk: ReadChunk,
        field: str,
        *,
        after_id: int | None,
        up_to_id: int | None,
        target_rows: int = TARGET_ROWS,
    ) -> None:
        self._read_chunk = read_chunk
        self._field = field
        self._after_id = after_id
        self._up_to_id = up_to_id
        self._target_rows = target_rows
        self._chunks: list[_Chunk] = []  # contiguous and ascending, up to `_frontier`
        self._frontier: int | None = None  # the highest parent id a chunk covers
        self._page_span = 1  # parent ids per page, from the lane's first page
        self._rows_read = 0  # related rows and parent ids read so far: the density
        self._ids_read = 0

    def rows_for(self, parents: Records) -> Awaitable[Records]:
        """The related rows of `parents` (a page of this lane). Registers what the page
        needs at once, so call it as soon as the page arrives, in page order."""
        ids = ids_of(parents)
        if not ids:
            return _ready([])
        bottom, top = ids[0], ids[-1]
        if self._frontier is None:
            self._frontier = self._after_id if self._after_id is not None else bottom - 1
            self._page_span = max(1, top - self._frontier)
            self._add_chunk(top)  # the first page's own parents
        self._cover(top + self._page_span * LOOKAHEAD_PAGES)
        needed = [c for c in self._chunks if c.low < top and c.high >= bottom]
        parts: list[Awaitable[Records]] = [c.rows for c in needed]
        if not needed or needed[0].low >= bottom:  # dropped: a later page asked first
            parts.insert(0, self._read_chunk(bottom - 1, needed[0].low if needed else top))
        self._chunks = [c for c in self._chunks if c.high >= bottom]
        return self._collect(parts, set(ids))

    async def _collect(self, parts: list[Awaitable[Records]], wanted: set[int]) -> Records:
        rows: Records = []
        for part in parts:
            rows.extend(await part)
        return [row for row in rows if int_or_none(row.get(self._field)) in wanted]

    def _span(self) -> int:
        """Parent ids for the next chunk: about `target_rows` related rows at the density
        read so far (one page's span until a chunk has come back)."""
        longest = self._page_span * MAX_PAGES_PER_CHUNK
        if not self._ids_read:
            return self._page_span
        if not self._rows_read:
            return longest
        return max(1, min(longest, self._target_rows * self._ids_read // self._rows_read))

    def _add_chunk(self, high: int) -> None:
        low = self._frontier
        assert low is not None
        if self._up_to_id is not None:
            high = min(high, self._up_to_id)
        if high <= low:
            return
        future = asyncio.ensure_future(self._read_chunk(low, high))
        future.add_done_callback(lambda done: self._note(done, high - low))
        self._chunks.append(_Chunk(low, high, future))
        self._frontier = high

    def _note(self, done: asyncio.Future[Records], span: int) -> None:
        if done.cancelled() or done.exception() is not None:  # retrieved: nobody may await
            return
        self._rows_read += len(done.result())
        self._ids_read += span

    def _cover(self, top: int) -> None:
        """Chunks up to parent id `top`, or the lane's end."""
        while self._frontier is not None and self._frontier < top:
            if self._up_to_id is not None and self._frontier >= self._up_to_id:
                return
            self._add_chunk(self._frontier + self._span())

    async def close(self) -> None:
        for chunk in self._chunks:
            chunk.rows.cancel()
        for chunk in self._chunks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await chunk.rows
        self._chunks = []


async def _ready(rows: Records) -> Records:
    return rows
