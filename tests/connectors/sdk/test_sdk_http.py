"""VendorClient: the one HTTP behaviour every connector shares."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors.sdk import (
    Action,
    AuthError,
    BudgetExhausted,
    FatalError,
    RequestBudget,
    RetryPolicy,
    SourceHttpLimits,
    TransientError,
    VendorClient,
)
from connectors.sdk.http import parse_retry_after

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with `responses` in order, then 200 {"ok": true}."""
    queue = list(responses)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if queue:
            item = queue.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        return httpx.Response(200, json={"ok": True})

    return handler, seen


def client(
    handler: Handler, sleeps: Sleeps, *, limits: SourceHttpLimits | None = None, **kwargs: object
) -> VendorClient:
    return VendorClient(
        base_url="https://psa.test/api",
        limits=limits or SourceHttpLimits(retry=RetryPolicy(max_attempts=4)),
        transport=httpx.MockTransport(handler),
        headers={"Authorization": "Basic c2VjcmV0"},
        sleep=sleeps,
        vendor="Test PSA",
        **kwargs,  # type: ignore[arg-type]
    )


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "2"}))
    sleeps = Sleeps()

    body = await client(handler, sleeps).request_json("GET", "/tickets")

    assert body == {"ok": True}
    assert sleeps.delays == [2.0]
    assert len(seen) == 2


async def test_transient_5xx_backs_off_exponentially_with_jitter() -> None:
    handler, seen = scripted(httpx.Response(503), httpx.Response(502), httpx.Response(500))
    sleeps = Sleeps()

    await client(handler, sleeps).request_json("GET", "/tickets")

    assert len(seen) == 4
    policy = RetryPolicy()
    assert [0 <= d <= policy.base_delay * 2**i for i, d in enumerate(sleeps.delays)] == [True] * 3


@pytest.mark.parametrize(
    ("status", "error"), [(400, FatalError), (401, AuthError), (403, AuthError), (404, FatalError)]
)
async def test_client_errors_are_never_retried(status: int, error: type[Exception]) -> None:
    handler, seen = scripted(httpx.Response(status, json={"message": "Nope, says the PSA"}))

    with pytest.raises(error) as raised:
        await client(handler, Sleeps()).request_json("GET", "/tickets")

    assert len(seen) == 1
    assert "Nope, says the PSA" in str(raised.value)
    assert "c2VjcmV0" not in str(raised.value)


async def test_gives_up_after_max_attempts_with_a_transient_error() -> None:
    handler, seen = scripted(*[httpx.Response(503, text="down")] * 10)

    with pytest.raises(TransientError, match="gave up after 4 attempts"):
        await client(handler, Sleeps()).request_json("GET", "/tickets")

    assert len(seen) == 4


async def test_a_retry_after_beyond_patience_stops_the_run_at_once() -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))

    with pytest.raises(TransientError) as raised:
        await client(handler, Sleeps()).request_json("GET", "/tickets")

    assert raised.value.retry_after == 3600
    assert len(seen) == 1


async def test_timeouts_and_connection_errors_are_retried() -> None:
    handler, seen = scripted(httpx.ReadTimeout("slow"), httpx.ConnectError("refused"))

    assert await client(handler, Sleeps()).request_json("GET", "/x") == {"ok": True}
    assert len(seen) == 3


async def test_junk_json_is_retried_then_reported() -> None:
    handler, _ = scripted(*[httpx.Response(200, text="<html>oops</html>")] * 20)

    with pytest.raises(TransientError) as raised:
        await client(handler, Sleeps()).request_json("GET", "/tickets")

    assert raised.value.code == "psa_invalid_json"


async def test_a_classifier_overrides_the_status_table() -> None:
    thread_limit = httpx.Response(500, json={"errors": ["thread threshold of 3 exceeded"]})
    bad_field = httpx.Response(500, json={"errors": ["Unable to find field foo"]})

    def classify(response: httpx.Response) -> Action | None:
        if "thread threshold" in response.text:
            return Action.RETRY
        if "Unable to find field" in response.text:
            return Action.FATAL
        return None

    handler, seen = scripted(thread_limit, bad_field)
    with pytest.raises(FatalError, match="Unable to find field foo"):
        await client(handler, Sleeps(), classify=classify).request_json("POST", "/q")
    assert len(seen) == 2


async def test_concurrency_limits_hold_per_source_and_per_key() -> None:
    in_flight = {"all": 0, "max_all": 0, "Tickets": 0, "max_Tickets": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.path.rsplit("/", 1)[-1]
        in_flight["all"] += 1
        in_flight["max_all"] = max(in_flight["max_all"], in_flight["all"])
        if key == "Tickets":
            in_flight["Tickets"] += 1
            in_flight["max_Tickets"] = max(in_flight["max_Tickets"], in_flight["Tickets"])
        await asyncio.sleep(0.01)
        in_flight["all"] -= 1
        if key == "Tickets":
            in_flight["Tickets"] -= 1
        return httpx.Response(200, json={})

    vendor = VendorClient(
        base_url="https://psa.test",
        limits=SourceHttpLimits(max_concurrency=5, per_key_concurrency=3),
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
    )
    calls = [vendor.request_json("GET", "/Tickets", concurrency_key="Tickets") for _ in range(12)]
    calls += [
        vendor.request_json("GET", "/Companies", concurrency_key="Companies") for _ in range(6)
    ]
    await asyncio.gather(*calls)

    assert in_flight["max_Tickets"] == 3
    assert in_flight["max_all"] == 5
    assert vendor.stats.requests == 18


async def test_the_budget_slows_down_rather_than_exceeding() -> None:
    now = [0.0]
    budget = RequestBudget(3, window=60, clock=lambda: now[0])
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    for _ in range(5):
        await budget.acquire(sleep)

    assert sleeps == [60.0]  # three at once, then a wait for the window to roll
    assert budget.used() == 2


async def test_an_exhausted_budget_beyond_patience_raises() -> None:
    budget = RequestBudget(1, window=3600, max_wait=10, clock=lambda: 0.0)
    await budget.acquire(Sleeps())

    with pytest.raises(BudgetExhausted) as raised:
        await budget.acquire(Sleeps())

    assert raised.value.retry_after == pytest.approx(3600)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(later, now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
