"""Walking id ranges in parallel, keyset-paged, with a cursor that is always exact.

A pass's remaining work is a list of half-open id ranges `[after_id, up_to_id]` (read
`after_id < id <= up_to_id`; `up_to_id` None: no upper end). One walker per range fetches
its pages in id order and hands each over through a queue of one slot per range, so every
walker is at most one page ahead (that page is being fetched while the consumer works).
A range's progress moves only when the consumer takes its page: the remaining ranges after
each yielded page are exactly what has not been yielded, so resuming from them neither skips
nor repeats. With one open range this is plain keyset paging with one page of prefetch.
A page's enrichment (`finish`) runs while its lane fetches the next page, so a page's
related rows and the next page are in flight together.

`plan_ranges` splits what remains of a pass into up to 3 ranges (Autotask's thread limit
per entity) holding about as many records each, from `/query/count`: one count of what
remains (asked beside the first page), then, for a large backfill, one or two rounds of
counts at the guessed bounds, asked at once (whatever the ids start at or skip); a smaller
remainder is cut at the first page's id density, with no more counts. The last range stays
open-ended, so the split never loses a record, however rough the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connectors.autotask.fields import last_id_of
from connectors.sdk import ConfigError, FatalError

T = TypeVar("T")
Records = list[dict[str, Any]]
IdRange = list[int | None]  # [after_id, up_to_id]
# fetch(after_id, up_to_id) -> the next page (≤ 500 records) of ids in (after_id, up_to_id].
FetchRange = Callable[[int | None, int | None], Awaitable[Records]]
# finish(lane, records) -> the page as the consumer gets it (enriched).
FinishPage = Callable[[int, Records], Awaitable[T]]
# count(after_id, up_to_id) -> how many records have ids in (after_id, up_to_id].
Count = Callable[[int, int | None], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class _Arrival(Generic[T]):
    lane: int
    finished: asyncio.Future[T]
    last_id: int | None  # where the lane's keyset paging now stands
    has_records: bool
    done: bool


async def walk_ranges(
    fetch: FetchRange,
    finish: FinishPage[T],
    ranges: Sequence[IdRange],
    *,
    page_size: int,
) -> AsyncIterator[tuple[T, list[IdRange]]]:
    """Yield `(finish(lane, records), remaining_ranges)` in the order pages arrive; after
    the last page `remaining_ranges` is empty. Empty pages are yielded only when they end
    the walk. `finish` (enrichment) starts as soon as a page arrives, while the lane fetches
    its next page; it is called in page order per lane (`lane`: the index in `ranges`).

    Keyset paging continues after the last record that has an id (one without is handed on
    for normalisation to reject). Raises FatalError when a lane's ids do not move forward or
    a full page has no id at all, or what a fetch or finish raised.
    """
    state: list[IdRange | None] = [list(r) for r in ranges]
    queue: asyncio.Queue[_Arrival[T] | Exception] = asyncio.Queue(maxsize=max(1, len(state)))
    pending: set[asyncio.Future[T]] = set()

    async def walk(index: int, after_id: int | None, up_to_id: int | None) -> None:
        try:
            while True:
                records = await fetch(after_id, up_to_id)
                done = len(records) < page_size
                last = last_id_of(records)
                if last is None and not done:
                    raise FatalError(
                        f"Autotask sent a full page of {len(records)} records without ids.",
                        code="psa_paging_loop",
                    )
                if last is not None:
                    if after_id is not None and last <= after_id:
                        raise FatalError(
                            f"Autotask paging did not move forward (id {last} after {after_id}).",
                            code="psa_paging_loop",
                        )
                    after_id = last
                finished = asyncio.ensure_future(finish(index, records))
                pending.add(finished)
                finished.add_done_callback(pending.discard)
                await queue.put(_Arrival(index, finished, last, bool(records), done))
                if done:
                    return
        except Exception as exc:  # handed to the consumer, which raises it
            await queue.put(exc)

    walkers = [
        asyncio.ensure_future(walk(i, r[0], r[1])) for i, r in enumerate(state) if r is not None
    ]
    open_ranges = len(walkers)
    try:
        while open_ranges:
            arrival = await queue.get()
            if isinstance(arrival, Exception):
                raise arrival
            result = await arrival.finished
            current = state[arrival.lane]
            if arrival.last_id is not None and current is not None:
                current[0] = arrival.last_id
            if arrival.done:
                state[arrival.lane] = None
                open_ranges -= 1
            if arrival.has_records or not open_ranges:
                yield result, [list(r) for r in state if r is not None]
    finally:
        tasks: list[asyncio.Future[Any]] = [*walkers, *pending]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def plan_ranges(
    after_id: int,
    *,
    ids_per_record: float,
    count: Count,
    parts: int,
    min_records: int,
    rounds: int = 3,
    remaining: int | None = None,
    page_size: int = 500,
) -> list[IdRange]:
    """Up to `parts` ranges covering every id above `after_id`, holding about as many
    records each. `remaining`: how many records lie above `after_id`, when already counted
    (else one count asks). Fewer than `min_records`: the ranges are cut at the density of
    the page already read, with no further count (balancing them would cost more than it
    saves); one page or less: one open range.

    Counts, not ids, balance the ranges: ids may start anywhere (real tenants' start in the
    hundreds of thousands) and leave gaps. One count of what remains, then up to `rounds`
    rounds of counts at the bounds (asked at once), each bound moved to where the counts
    put its share; `ids_per_record` (the page already read) gives the first guess, which
    is usually balanced already (one round). A large gap in the ids may leave the ranges
    unbalanced, never incomplete.
    """
    whole: list[IdRange] = [[after_id, None]]
    if parts < 2:
        return whole
    try:
        if remaining is None:
            remaining = await count(after_id, None)
        if remaining <= page_size:
            return whole
        if remaining < max(min_records, parts):
            return _by_density(after_id, remaining, ids_per_record, parts, page_size)
        shares = [remaining * k / parts for k in range(1, parts)]
        known: dict[int, int] = {after_id: 0}  # bound -> records in (after_id, bound]
        per_record = max(ids_per_record, 1e-9)
        bounds = [after_id + max(1, round(share * per_record)) for share in shares]
        for _ in range(rounds):
            counted = await asyncio.gather(*(count(after_id, bound) for bound in bounds))
            known.update(zip(bounds, counted, strict=True))
            tolerance = remaining / parts / 10  # within ±10 % of each share: balanced enough
            if all(abs(c - s) <= tolerance for c, s in zip(counted, shares, strict=True)):
                break
            bounds = [_bound_for(share, known, ids_per_record) for share in shares]
    except (FatalError, ConfigError):  # counts refused: read the rest as one range
        return whole
    cuts = sorted({b for b in bounds if b > after_id})
    starts: list[int | None] = [after_id, *cuts]
    ends: list[int | None] = [*cuts, None]
    return [[start, end] for start, end in zip(starts, ends, strict=True)]


# A bounded range cut by density holds this share of whole pages (see `_by_density`).
BOUNDED_SHARE = 0.95


def _by_density(
    after_id: int, remaining: int, ids_per_record: float, parts: int, page_size: int
) -> list[IdRange]:
    """Ranges sharing `remaining` records, cut at `ids_per_record`; the last one stays
    open, so a wrong guess costs a page, never a record. Each bounded range is sized a
    little under whole pages: one of exactly 500 would need a second, empty page to end."""
    lanes = min(parts, -(-remaining // page_size))
    if lanes < 2:
        return [[after_id, None]]
    pages_per_lane = -(-remaining // lanes // page_size) or 1
    per_lane = pages_per_lane * page_size * BOUNDED_SHARE
    per_record = max(ids_per_record, 1e-9)
    cuts = sorted(
        {
            after_id + max(1, round(k * per_lane * per_record))
            for k in range(1, lanes)
            if k * per_lane < remaining
        }
    )
    starts: list[int | None] = [after_id, *cuts]
    ends: list[int | None] = [*cuts, None]
    return [[start, end] for start, end in zip(starts, ends, strict=True)]


def _bound_for(share: float, known: dict[int, int], ids_per_record: float) -> int:
    """The id below which `share` records lie, interpolated between the counted bounds
    (beyond the last one: at the density seen so far)."""
    points = sorted(known.items())
    for (low_id, low_count), (high_id, high_count) in itertools.pairwise(points):
        if low_count <= share <= high_count:
            if high_count == low_count:
                return high_id
            # Interpolated, kept off the bracket's ends: where the ids are uneven, a
            # straight line would creep towards the bound one round at a time.
            fraction = (share - low_count) / (high_count - low_count)
            fraction = min(0.75, max(0.25, fraction)) if high_id - low_id > 4 else fraction
            return low_id + max(1, round(fraction * (high_id - low_id)))
    first_id, _ = points[0]
    last_id, last_count = points[-1]
    per_record = (last_id - first_id) / last_count if last_count else ids_per_record
    guess = round((share - last_count) * max(per_record, 1e-9))
    return last_id + max(1, guess, last_id - first_id)  # past a gap: at least double
