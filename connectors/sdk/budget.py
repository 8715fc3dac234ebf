"""A request budget per rolling window for one source, shared by every run of it.

It slows a sync down rather than exceeding the PSA's limit (Autotask's 10,000 requests per
hour are shared by every integration of a tenant); `connectors.sdk.http` re-exports it.

On its own a budget counts the requests of this process. Given a `BudgetLedger` (the
service gives one kept in its database), it counts those of every process syncing or
checking the source: the scheduler, a CLI sync, the API's checks. It books requests from
the ledger a few at a time (a block), so the ledger is asked once per block, not per
request, and gives back what it did not use when the run ends.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from connectors.sdk.errors import BudgetExhausted

Sleep = Callable[[float], Awaitable[None]]

# The most requests booked from a ledger at once; a tenth of the limit when that is less.
MAX_BLOCK = 20


class BudgetLedger(Protocol):
    """The count of a source's requests over the rolling window, shared between processes.

    `book` and `give_back` are called from a worker thread and may block briefly."""

    def book(self, count: int, limit: int, window: float) -> tuple[int, float]:
        """Book up to `count` requests so that at most `limit` are booked over the last
        `window` seconds. Returns how many were booked, and when none could be, the seconds
        until room frees up."""
        ...

    def give_back(self, count: int) -> None:
        """Return `count` booked requests that were not made."""
        ...

    def used(self, window: float) -> int:
        """Requests booked over the last `window` seconds, by every process."""
        ...


class RequestBudget:
    """At most `limit` requests per rolling `window` seconds. `acquire` waits for room
    (slowing the sync) up to `max_wait`; beyond that it raises BudgetExhausted so the run
    stops and resumes later. With a `ledger`, the limit holds across processes."""

    def __init__(
        self,
        limit: int | None = None,
        window: float = 3600.0,
        *,
        max_wait: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        ledger: BudgetLedger | None = None,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_wait = max_wait
        self.ledger = ledger
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._booked = 0  # requests booked from the ledger and not made yet
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def with_ledger(self, ledger: BudgetLedger | None) -> RequestBudget:
        """This budget's limits, counted in `ledger` (a new budget; this one unchanged)."""
        return RequestBudget(
            self.limit, self.window, max_wait=self.max_wait, clock=self._clock, ledger=ledger
        )

    def _prune(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.popleft()

    def used(self) -> int:
        """Requests over the window: every process's with a ledger, else this process's."""
        if self.ledger is not None:
            return self.ledger.used(self.window)
        with self._lock:
            self._prune(self._clock())
            return len(self._stamps)

    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used())

    def _block(self) -> int:
        assert self.limit is not None
        return max(1, min(MAX_BLOCK, self.limit // 10))

    def _try_take(self) -> float:
        """Take a slot and return 0, or return the seconds until one frees up (-1: ask
        the ledger for a block first)."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            if self.limit is None:
                self._stamps.append(now)
                return 0.0
            if len(self._stamps) >= self.limit:  # this process alone has used it up
                return max(0.01, self._stamps[0] + self.window - now)
            if self.ledger is not None:
                if self._booked == 0:
                    return -1.0
                self._booked -= 1
            self._stamps.append(now)
            return 0.0

    def _book(self) -> float:
        """Book a block from the ledger: 0 when booked, else the seconds until room."""
        assert self.ledger is not None and self.limit is not None
        booked, wait = self.ledger.book(self._block(), self.limit, self.window)
        if booked > 0:
            with self._lock:
                self._booked += booked
            return 0.0
        return max(0.01, wait)

    async def acquire(self, sleep: Sleep = asyncio.sleep) -> None:
        waited = 0.0
        while (wait := self._try_take()) != 0:
            if wait < 0:
                wait = await asyncio.to_thread(self._book)
                if wait == 0:
                    continue
            if waited + wait > self.max_wait:
                raise BudgetExhausted(
                    f"The request budget of {self.limit} per {self.window:.0f} s is used up; "
                    "the sync will continue when it frees up.",
                    retry_after=wait,
                )
            await sleep(wait)
            waited += wait
            self.waited_seconds += wait

    def release(self) -> None:
        """Give back to the ledger what was booked and not used (at the end of a run)."""
        with self._lock:
            unused, self._booked = self._booked, 0
        if unused and self.ledger is not None:
            self.ledger.give_back(unused)
