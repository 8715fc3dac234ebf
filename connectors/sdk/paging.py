"""Keyset paging: `id > last_id` ascending, the largest page the vendor allows.

Keyset paging neither skips nor repeats rows when data changes between pages, and disjoint id
ranges can be read in parallel (`id_ranges`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from connectors.sdk.errors import FatalError

Record = dict[str, Any]
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
