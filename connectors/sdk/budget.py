"""A request budget per rolling window, shared by every run of a source in this process.

It slows a sync down rather than exceeding the PSA's limit (Autotask's 10,000 requests per
hour are shared by every integration of a tenant); `connectors.sdk.http` re-exports it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from connectors.sdk.errors import BudgetExhausted

Sleep = Callable[[float], Awaitable[None]]


class RequestBudget:
    """At most `limit` requests per rolling `window` seconds, shared by every run of a source
    in this process. `acquire` waits for room (slowing the sync) up to `max_wait`; beyond
    that it raises BudgetExhausted so the run stops and resumes later."""

    def __init__(
        self,
        limit: int | None = None,
        window: float = 3600.0,
        *,
        max_wait: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_wait = max_wait
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def _prune(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.popleft()

    def used(self) -> int:
        with self._lock:
            self._prune(self._clock())
            return len(self._stamps)

    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used())

    def note_external_usage(self, count: int) -> None:
        """Account for requests made by others (e.g. a vendor's live usage counter)."""
        with self._lock:
            now = self._clock()
            self._stamps.extend([now] * max(0, count))

    def _try_take(self) -> float:
        """Take a slot and return 0, or return the seconds until one frees up."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            if self.limit is None or len(self._stamps) < self.limit:
                self._stamps.append(now)
                return 0.0
            return max(0.01, self._stamps[0] + self.window - now)

    async def acquire(self, sleep: Sleep = asyncio.sleep) -> None:
        waited = 0.0
        while (wait := self._try_take()) > 0:
            if waited + wait > self.max_wait:
                raise BudgetExhausted(
                    f"The request budget of {self.limit} per {self.window:.0f} s is used up; "
                    "the sync will continue when it frees up.",
                    retry_after=wait,
                )
            await sleep(wait)
            waited += wait
            self.waited_seconds += wait
