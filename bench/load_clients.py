"""The readers of bench/load.py: N async clients asking in a loop, and what they saw."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

CLIENT_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    path: str
    cookie: bool = False  # the overview page is read signed in, as a browser does


ROUTES = (
    Route("alignment", "/api/v1/alignment"),
    Route("kpi_values", "/api/v1/kpis/open_backlog/values?grain=month"),
    Route("odata", "/odata/Tickets?$top=100&$filter=IsClosed eq false"),
    Route("overview", "/", cookie=True),
)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


class LoadStats:
    """Per route: latencies of answered requests, and every outcome (status or failure)."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.began = time.monotonic()
        self.ended: float | None = None
        self.failures: list[str] = []  # the first few, with when and how long they took

    def record(self, route: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.outcomes[route][outcome] += 1
        if outcome.isdigit():
            self.latencies[route].append(seconds)
        if not outcome.startswith("2") and len(self.failures) < 20:
            at = time.monotonic() - self.began
            self.failures.append(f"{at:.1f} s in, {route}, after {seconds:.1f} s: {detail}")

    def report(self) -> dict[str, Any]:
        elapsed = (self.ended or time.monotonic()) - self.began
        routes: dict[str, Any] = {}
        for route in ROUTES:
            outcomes, samples = self.outcomes[route.name], self.latencies[route.name]
            routes[route.name] = {
                "requests": sum(outcomes.values()),
                "outcomes": dict(sorted(outcomes.items())),
                "p50_ms": round(percentile(samples, 0.50) * 1000) if samples else None,
                "p95_ms": round(percentile(samples, 0.95) * 1000) if samples else None,
                "max_ms": round(max(samples) * 1000) if samples else None,
            }
        every = Counter[str]()
        for outcomes in self.outcomes.values():
            every.update(outcomes)
        total = sum(every.values())
        return {
            "seconds": round(elapsed, 1),
            "requests": total,
            "requests_per_second": round(total / elapsed, 1) if elapsed else None,
            "errors": sum(n for k, n in every.items() if not k.startswith("2")),
            "timeouts": every["timeout"],
            "routes": routes,
            "first_failures": self.failures,
        }


async def _client(
    index: int,
    http: httpx.AsyncClient,
    read_key: str,
    stats: LoadStats,
    should_stop: Callable[[], bool],
) -> None:
    turn = index
    while not should_stop():
        route = ROUTES[turn % len(ROUTES)]
        turn += 1
        if route.cookie:
            headers = {"Cookie": f"northstar_key={read_key}"}
        else:
            headers = {"Authorization": f"Bearer {read_key}"}
        began = time.perf_counter()
        detail = ""
        try:
            # 30 s for the whole request (httpx's own timeout is per phase: connect, read...).
            async with asyncio.timeout(CLIENT_TIMEOUT_S):
                answer = await http.get(route.path, headers=headers)
            outcome = str(answer.status_code)
            detail = answer.text[:200] if answer.status_code >= 300 else ""
        except (TimeoutError, httpx.TimeoutException) as exc:
            outcome, detail = "timeout", repr(exc)
        except httpx.TransportError as exc:
            outcome, detail = type(exc).__name__, repr(exc)
        stats.record(route.name, outcome, time.perf_counter() - began, detail)


async def run_clients(
    base: str, read_key: str, clients: int, stats: LoadStats, should_stop: Callable[[], bool]
) -> None:
    """`clients` readers, each with its own connection, until `should_stop()`."""
    # An idle connection is dropped before the server's keep-alive (uvicorn: 5 s) can close
    # it under a request being sent, as any well-behaved client does.
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2
    )
    async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT_S, limits=limits) as http:
        stats.began = time.monotonic()
        await asyncio.gather(
            *(_client(i, http, read_key, stats, should_stop) for i in range(clients))
        )
        stats.ended = time.monotonic()
