"""A PSA that misbehaves, for the sync fault suite.

`FaultyTransport` wraps a simulator's transport and, on a seeded share of attempts, answers
the way a busy PSA or the network in front of it does: 429 with a short Retry-After, 500, 502,
a connection dropped before the PSA read the request or before its answer arrived, and a stall
that the read timeout cuts off. Whether the k-th attempt of a request is hit depends only on
the seed, the request (method, URL, body) and k, never on the order concurrent requests
happen to go out in; which fault a hit gets goes round the list, so a handful of hits covers
every kind. A few chosen attempts (counted over all requests) are refused for an hour, a
spent quota: no retry within a run waits that long, so the stream fails and a later sync
has to resume it. A plan can also give the first answer of every endpoint one fault, to try
each kind of request once.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import httpx


class Fault(StrEnum):
    RATE_LIMITED = "429 with a short Retry-After"
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    DROPPED_UNSENT = "connection dropped before the PSA read the request"
    DROPPED_UNANSWERED = "connection dropped before the PSA's answer arrived"
    STALLED = "stalled past the read timeout"
    QUOTA_SPENT = "429 with a Retry-After longer than a run waits"


TRANSIENT_FAULTS = (
    Fault.RATE_LIMITED,
    Fault.SERVER_ERROR,
    Fault.BAD_GATEWAY,
    Fault.DROPPED_UNSENT,
    Fault.DROPPED_UNANSWERED,
    Fault.STALLED,
)
# Longer than any Retry-After a run waits out (RetryPolicy.max_retry_after).
QUOTA_RETRY_AFTER_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """`rate` of all attempts get one of `faults`; the attempts numbered in `quota_spent_at`
    (1-based, over every request the plan sees) get a spent quota, which fails their stream.

    `first_answer_of_each_endpoint` tries every endpoint once with one fault, whatever the
    draws. `read_timeout` is how long a stalled request waits before its read times out: the
    clients' own timeout is a minute, which a test cannot afford to sit through.
    """

    seed: int
    rate: float = 0.10
    faults: tuple[Fault, ...] = TRANSIENT_FAULTS
    quota_spent_at: tuple[int, ...] = ()
    # The first answer of every endpoint (method and path) the sync calls, e.g. a 500 each.
    first_answer_of_each_endpoint: Fault | None = None
    retry_after_seconds: int = 1
    read_timeout: float = 0.2


@dataclass
class FaultTally:
    """What a plan did, kept across every transport sharing it (a sync builds one each)."""

    attempts: Counter[str] = field(default_factory=Counter)
    injected: Counter[Fault] = field(default_factory=Counter)
    endpoints: set[str] = field(default_factory=set)

    @property
    def requests(self) -> int:
        return sum(self.attempts.values())

    @property
    def summary(self) -> str:
        injected = ", ".join(f"{count} × {fault}" for fault, count in self.injected.items())
        return f"{injected or 'no faults'} in {self.requests} requests"


def _json_error(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    # Both vendors' shapes at once: ConnectWise reads `message`, Autotask `errors`. The words
    # avoid what the connectors treat specially ("timeout" shrinks a ConnectWise page).
    body = {"code": "Unavailable", "message": message, "errors": [message]}
    return httpx.Response(status, json=body, headers=dict(headers or {}))


class FaultyTransport(httpx.AsyncBaseTransport):
    """`inner` with the faults of `plan`, counted in `tally`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, plan: FaultPlan, tally: FaultTally) -> None:
        self._inner = inner
        self._plan = plan
        self._tally = tally

    def _fault_for(self, request: httpx.Request) -> Fault | None:
        digest = hashlib.sha256(request.content).hexdigest()
        key = f"{request.method} {request.url} {digest}"
        self._tally.attempts[key] += 1
        attempt = self._tally.attempts[key]
        draw = random.Random(f"{self._plan.seed}|{key}|{attempt}").random()
        endpoint = f"{request.method} {request.url.path.lower()}"
        first_of_endpoint = endpoint not in self._tally.endpoints
        self._tally.endpoints.add(endpoint)
        if self._tally.requests in self._plan.quota_spent_at:
            fault = Fault.QUOTA_SPENT
        elif first_of_endpoint and self._plan.first_answer_of_each_endpoint is not None:
            fault = self._plan.first_answer_of_each_endpoint
        elif draw < self._plan.rate:
            hits = sum(self._tally.injected[f] for f in self._plan.faults)
            fault = self._plan.faults[hits % len(self._plan.faults)]
        else:
            return None
        self._tally.injected[fault] += 1
        return fault

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        fault = self._fault_for(request)
        if fault is Fault.RATE_LIMITED:
            retry_after = {"Retry-After": str(self._plan.retry_after_seconds)}
            return _json_error(429, "Too many requests, slow down.", retry_after)
        if fault is Fault.QUOTA_SPENT:
            retry_after = {"Retry-After": str(QUOTA_RETRY_AFTER_SECONDS)}
            return _json_error(429, "The hourly request quota is used up.", retry_after)
        if fault is Fault.SERVER_ERROR:
            return _json_error(500, "An unexpected error occurred on the server.")
        if fault is Fault.BAD_GATEWAY:
            html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
            return httpx.Response(502, text=html, headers={"Content-Type": "text/html"})
        if fault is Fault.DROPPED_UNSENT:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if fault is Fault.STALLED:
            await asyncio.sleep(self._plan.read_timeout)
            raise httpx.ReadTimeout("The read operation timed out.", request=request)
        response = await self._inner.handle_async_request(request)
        if fault is Fault.DROPPED_UNANSWERED:
            await response.aclose()  # the PSA did the work; its answer is lost on the way
            raise httpx.ReadError("Connection reset by peer.", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
