"""Reference tables and the codebase, kept between syncs of one source.

A connector is built for every sync, and a source is checked every minute: without this,
each check would ask ConnectWise again for its codebase, priorities, SLAs, work types,
company statuses and the MSP's own company (7 of a quiet minute's 9 requests). What loads
is kept for `REFRESH` (an hour, the slow cadence), so an edit in ConnectWise (an SLA's
targets, a work type's utilisation flag) is read within the hour. Only complete answers are
kept: a table ConnectWise would not serve is asked again at the next sync, so the records it
degraded are read again as soon as it answers. A cache lives as long as the source's
`RequestBudget`, the one object the runner keeps per source.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from connectors.sdk import RequestBudget

REFRESH_SECONDS = 3600.0
CODEBASE = "codebase"
_MISSING = object()


class ReferenceCache:
    """Values by key, each kept for `REFRESH_SECONDS` after it was loaded."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._values: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        """The kept value, or `MISSING` when none is kept or it is due to be read again."""
        kept = self._values.get(key)
        if kept is None or self.clock() - kept[0] >= REFRESH_SECONDS:
            return _MISSING
        return kept[1]

    def put(self, key: str, value: Any) -> None:
        self._values[key] = (self.clock(), value)

    def forget(self, key: str) -> None:
        self._values.pop(key, None)


MISSING = _MISSING
_CACHES: WeakKeyDictionary[RequestBudget, ReferenceCache] = WeakKeyDictionary()


def cache_for(budget: RequestBudget) -> ReferenceCache:
    """The cache of the source whose budget this is (created on first use)."""
    cache = _CACHES.get(budget)
    if cache is None:
        cache = _CACHES[budget] = ReferenceCache()
    return cache
