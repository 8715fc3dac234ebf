"""Throttling of failed API keys, per client address.

A client that sends `auth_failure_limit` wrong or revoked keys within
`auth_failure_window_seconds` has every further key refused with 429 and `Retry-After` until
its oldest failure in the window has aged out. Attempts refused that way are not counted, so
a client that keeps guessing gets `auth_failure_limit` guesses per window, whatever its rate.
A request without any key is not a guess and is never counted: BI tools ask anonymously
first and send the key when challenged.

The counts live in memory, per process (each API worker counts on its own); the number of
addresses tracked is bounded so that a flood from many addresses cannot exhaust memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from starlette.types import Scope

from app.errors import NorthstarError
from app.settings import Settings

MAX_TRACKED_CLIENTS = 10_000


class TooManyFailedKeys(NorthstarError):
    """Raised instead of checking a key while the client's address is throttled."""

    status_code = 429
    code = "too_many_failed_keys"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many wrong API keys came from your address. Try again in {retry_after} "
            "seconds with a valid key (see `northstar apikey list`).",
            details={"retry_after_seconds": retry_after},
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class FailedKeyThrottle:
    """Failure times per client address over a sliding window. Thread-safe."""

    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> FailedKeyThrottle:
        return cls(
            limit=settings.auth_failure_limit,
            window_seconds=settings.auth_failure_window_seconds,
        )

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def refuse_if_blocked(self, client: str) -> None:
        """Raise `TooManyFailedKeys` while `client` has used up its failures."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if times is None or len(times) < self.limit:
                return
            wait = times[-self.limit] + self.window_seconds - now
        raise TooManyFailedKeys(max(1, math.ceil(wait)))

    def record_failure(self, client: str) -> int:
        """Count a wrong key from `client`; returns its failures within the window."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if times is None:
                times = self._failures[client] = deque()
            times.append(now)
            self._failures.move_to_end(client)
            while len(self._failures) > self._max_clients:
                self._failures.popitem(last=False)
            return len(times)


_creating = threading.Lock()


def throttle_for(app: Any) -> FailedKeyThrottle:
    """The app's throttle, made on first use from the settings of the app's service."""
    throttle: FailedKeyThrottle | None = getattr(app.state, "key_throttle", None)
    if throttle is None:
        with _creating:
            throttle = getattr(app.state, "key_throttle", None)
            if throttle is None:
                throttle = FailedKeyThrottle.from_settings(app.state.context.settings)
                app.state.key_throttle = throttle
    return throttle


def client_address(scope: Scope) -> str:
    """The peer's address as the server saw it (uvicorn puts the address a local reverse
    proxy forwarded here, see its `--forwarded-allow-ips`)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
