"""A bound on how many requests the API works on at once; the rest wait their turn.

The service is one Python process: past a few requests at a time, more in parallel only
share the same CPU (and the scheduler's syncs with them) and hold more database connections.
`ConcurrencyLimit` lets `max_concurrent_requests` requests run; the next ones wait, first
come first served, without holding a thread or a connection. A request that would make the
line longer than `max_queued_requests`, or that waited `queue_timeout_seconds` without its
turn coming, is answered at once with 503, `Retry-After` and the usual JSON error body, so a
client under load gets a clear answer instead of a timeout.

Database pools are sized from the same setting (`app.api.context.api_connections`), so a
request that runs never waits for a connection.
"""

from __future__ import annotations

import math
from collections import deque

import anyio
from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import error_body
from app.settings import Settings

BUSY_CODE = "server_busy"
# Seconds a client is asked to wait before it tries again.
RETRY_AFTER_S = 2
INSTALLED = "concurrency_limit_installed"  # on app.state


class Turns:
    """At most `limit` holders at a time; up to `queue` more wait, in order of arrival.

    Used from one event loop: nothing here needs a lock. A slot freed while someone waits
    is handed straight to the first waiter, so a newcomer never overtakes the line.
    """

    def __init__(self, limit: int, queue: int) -> None:
        self.limit = limit
        self.queue = queue
        self.active = 0
        self._waiting: deque[anyio.Event] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def acquire(self, patience_s: float) -> bool:
        """Take a slot, waiting up to `patience_s`; False if the line is full or the wait
        ran out."""
        if self.active < self.limit and not self._waiting:
            self.active += 1
            return True
        if len(self._waiting) >= self.queue:
            return False
        turn = anyio.Event()
        self._waiting.append(turn)
        try:
            with anyio.move_on_after(patience_s):
                await turn.wait()
        except BaseException:
            # Cancelled (the client left, the server stops): give back a slot handed over.
            self._leave_line(turn)
            raise
        if turn.is_set():  # handed a slot, possibly just as the wait ran out
            return True
        self._waiting.remove(turn)
        return False

    def _leave_line(self, turn: anyio.Event) -> None:
        if turn.is_set():
            self.release()
        else:
            self._waiting.remove(turn)

    def release(self) -> None:
        if self._waiting:
            self._waiting.popleft().set()  # the slot passes on; `active` stays
        else:
            self.active -= 1


class ConcurrencyLimit:
    """Pure ASGI middleware: HTTP requests take a turn in `Turns` (lifespan and websockets
    pass through)."""

    def __init__(self, app: ASGIApp, *, limit: int, queue: int, queue_timeout_s: float) -> None:
        self.app = app
        self.turns = Turns(limit, queue)
        self.queue_timeout_s = queue_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not await self.turns.acquire(self.queue_timeout_s):
            await self._busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.turns.release()

    async def _busy(self, scope: Scope, receive: Receive, send: Send) -> None:
        full = self.turns.waiting >= self.turns.queue
        why = (
            f"{self.turns.waiting} requests are already waiting"
            if full
            else f"this request waited {math.ceil(self.queue_timeout_s)} s"
        )
        message = (
            f"Northstar is busy: it works on {self.turns.limit} requests at a time and {why}. "
            f"Nothing was done; send the request again in {RETRY_AFTER_S} seconds. If this "
            "happens often, raise NORTHSTAR_MAX_CONCURRENT_REQUESTS or add API processes."
        )
        response = JSONResponse(
            error_body(BUSY_CODE, message),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"},
        )
        await response(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Bound the concurrency of `app` (call it after the middleware that must run inside the
    limit, such as key checks that use the database, and before size limits that should
    refuse oversized requests without waiting). Installing it twice changes nothing."""
    if getattr(app.state, INSTALLED, False):
        return
    setattr(app.state, INSTALLED, True)
    app.add_middleware(
        ConcurrencyLimit,
        limit=settings.max_concurrent_requests,
        queue=settings.max_queued_requests,
        queue_timeout_s=settings.queue_timeout_seconds,
    )
