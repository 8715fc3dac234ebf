"""Walking id ranges in parallel, keyset-paged, with a cursor that is always exact.

A pass's remaining work is a list of half-open id ranges `[after_id, up_to_id]` (read
`after_id < id <= up_to_id`; `up_to_id` None: no upper end). One walker per range fetches
its pages in id order and hands each over through a queue of one slot per range, so every
walker is at most one page ahead (that page is being fetched while the consumer works).
A range's progress moves only when the consumer takes its page: the remaining ranges after
each yielded page are exactly what has not been yielded, so resuming from them neither skips
nor repeats. With one open range this is plain keyset paging with one page of prefetch.

`plan_ranges` splits what remains of a large backfill into up to 3 ranges (Autotask's
thread limit per entity) from a few cheap probes (`id gt X`, one record, only `id`): the
largest id, found by doubling from the id density of the first page and a coarse
bisection; about 7 to 11 requests for tens to hundreds of thousands of records. The last
range stays open-ended, so the split never loses a record, however rough the probes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from connectors.sdk import FatalError

Records = list[dict[str, Any]]
IdRange = list[int | None]  # [after_id, up_to_id]
# fetch(after_id, up_to_id) -> the next page (≤ 500 records) of ids in (after_id, up_to_id].
FetchRange = Callable[[int | None, int | None], Awaitable[Records]]
# probe(after_id) -> the smallest matching id above after_id, or None.
Probe = Callable[[int], Awaitable[int | None]]


async def walk_ranges(
    fetch: FetchRange, ranges: Sequence[IdRange], *, page_size: int
) -> AsyncIterator[tuple[Records, list[IdRange]]]:
    """Yield `(records, remaining_ranges)` in the order pages arrive; after the last page
    `remaining_ranges` is empty. Empty pages are yielded only when they end the walk.

    Raises FatalError when a range's ids do not move forward, or what a fetch raised.
    """
    state: list[IdRange | None] = [list(r) for r in ranges]
    queue: asyncio.Queue[tuple[int, Records | BaseException, bool]] = asyncio.Queue(
        maxsize=max(1, len(state))
    )

    async def walk(index: int, after_id: int | None, up_to_id: int | None) -> None:
        try:
            while True:
                records = await fetch(after_id, up_to_id)
                done = len(records) < page_size
                if records:
                    last = int(records[-1]["id"])
                    if after_id is not None and last <= after_id:
                        raise FatalError(
                            f"Autotask paging did not move forward (id {last} after {after_id}).",
                            code="psa_paging_loop",
                        )
                    after_id = last
                await queue.put((index, records, done))
                if done:
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            await queue.put((index, exc, True))

    walkers = [
        asyncio.ensure_future(walk(i, r[0], r[1])) for i, r in enumerate(state) if r is not None
    ]
    open_ranges = len(walkers)
    try:
        while open_ranges:
            index, outcome, done = await queue.get()
            if isinstance(outcome, BaseException):
                raise outcome
            current = state[index]
            if outcome and current is not None:
                current[0] = int(outcome[-1]["id"])
            if done:
                state[index] = None
                open_ranges -= 1
            if outcome or not open_ranges:
                yield outcome, [list(r) for r in state if r is not None]
    finally:
        for walker in walkers:
            walker.cancel()
        for walker in walkers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await walker


async def plan_ranges(
    after_id: int,
    *,
    ids_per_record: float,
    probe: Probe,
    parts: int,
    min_records: int,
) -> list[IdRange]:
    """Up to `parts` ranges covering every id above `after_id`, or one open range when
    fewer than about `min_records` records remain (planning would cost more than it saves).

    `ids_per_record` is the id span per record on the page already read: it turns
    `min_records` into an id distance for the first probe.
    """
    whole: list[IdRange] = [[after_id, None]]
    if parts < 2:
        return whole
    step = max(1, int(min_records * max(ids_per_record, 1.0)))
    found = await probe(after_id + step)
    if found is None:
        return whole
    low = found  # a matching id; nothing matches above `high`
    while (found := await probe(low + step)) is not None:
        low, step = found, step * 2
    high = low + step
    while high - low > (high - after_id) // 10:  # ±10% is balanced enough
        middle = (low + high) // 2
        found = await probe(middle)
        if found is None:
            high = middle
        else:
            low = found
    span = high - after_id
    bounds = [after_id + span * k // parts for k in range(1, parts)]
    starts: list[int | None] = [after_id, *bounds]
    ends: list[int | None] = [*bounds, None]
    return [[start, end] for start, end in zip(starts, ends, strict=True)]
