"""Keyset paging: `id > last_id` ascending, the largest page the vendor allows.

Keyset paging neither skips nor repeats rows when data changes between pages, and disjoint id
ranges can be read in parallel (`id_ranges`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from connectors.sdk.errors import FatalError

Record = dict[str, Any]
T = TypeVar("T")
# A page fetch of one id window or range: fetch(after_id, up_to_id) -> its next page.
FetchBetween = Callable[[Any, Any], Awaitable[T]]

# fetch(after_id, page_size) -> one page of records with id > after_id, ascending by id.
FetchAfter = Callable[[int | None, int], Awaitable[Sequence[Record]]]


async def keyset_pages(
    fetch: FetchAfter,
    *,
    after_id: int | None = None,
    page_size: int,
    key: str = "id",
) -> AsyncIterator[tuple[Sequence[Record], int | None]]:
    """Yield `(records, last_id)` until a short page; `last_id` resumes after the page.

    Raises FatalError when the vendor returns ids that do not move forward (a paging loop).
    """
    while True:
        records = await fetch(after_id, page_size)
        if not records:
            return
        last = int(records[-1][key])
        if after_id is not None and last <= after_id:
            raise FatalError(
                f"Paging did not move forward (id {last} after {after_id}); "
                "the PSA ignored the id filter or the ordering.",
                code="psa_paging_loop",
            )
        after_id = last
        yield records, after_id
        if len(records) < page_size:
            return


# The cursor key an id-sweep read is given when it should list one slice of the ids only.
ID_RANGE = "id_range"


def sweep_id_range(cursor: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    """The ids `low <= id < high` an id-sweep read is asked to list (`StreamMode.ID_SWEEP`):
    (None, None), every id, without a range; either end None is open."""
    found = cursor.get(ID_RANGE) if cursor else None
    if not found:
        return None, None
    low, high = found
    return (None if low is None else int(low)), (None if high is None else int(high))


def id_ranges(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """Split the inclusive id span [low, high] into at most `parts` half-open ranges
    `(after_id, up_to_id)` (read `after_id < id <= up_to_id`) that cover it exactly."""
    if high < low or parts < 1:
        return []
    span = high - low + 1
    parts = min(parts, span)
    step, extra = divmod(span, parts)
    ranges: list[tuple[int, int]] = []
    start = low - 1
    for index in range(parts):
        end = start + step + (1 if index < extra else 0)
        ranges.append((start, end))
        start = end
    return ranges


class PrimedFetch(Generic[T]):
    """`fetch` with the first page of some windows already asked for, so those reads go on
    while the page before them is stored: the first call for a primed `(after, up_to)`
    gets the page already on its way, any other call fetches. `close` cancels what was never
    asked for again (a read abandoned half way)."""

    def __init__(self, fetch: FetchBetween[T], windows: Iterable[tuple[Any, Any]]) -> None:
        self._fetch = fetch
        self._started: dict[tuple[Any, Any], asyncio.Future[T]] = {}
        for after, up_to in windows:
            self._started[(after, up_to)] = asyncio.ensure_future(fetch(after, up_to))

    async def __call__(self, after: Any, up_to: Any) -> T:
        started = self._started.pop((after, up_to), None)
        if started is not None:
            return await started
        return await self._fetch(after, up_to)

    async def close(self) -> None:
        for task in self._started.values():
            task.cancel()
        for task in self._started.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._started.clear()
