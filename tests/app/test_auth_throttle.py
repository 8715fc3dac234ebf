"""Issue 15, defect 14: wrong API keys are throttled per client address, on every way a key
travels (Bearer, X-API-Key, OData's `api_key`, the sign-in form, the page's cookie), with
429 and `Retry-After`, and each one is logged without the key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hardened_app import hardened_app
from leak_guard import LOG_COLLECTOR, CheckedClient

from app.api.deps import COOKIE_NAME
from app.api.throttle import FailedKeyThrottle, TooManyFailedKeys

LIMIT = 3
WRONG = "ns_wrong-key-4c1d9e"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_blocks_until_the_oldest_failure_ages_out() -> None:
    clock = Clock()
    throttle = FailedKeyThrottle(limit=3, window_seconds=60, clock=clock)
    for _ in range(3):
        throttle.refuse_if_blocked("10.0.0.1")
        throttle.record_failure("10.0.0.1")
        clock.now += 10

    with pytest.raises(TooManyFailedKeys) as blocked:
        throttle.refuse_if_blocked("10.0.0.1")
    throttle.refuse_if_blocked("10.0.0.2")  # another address is not affected

    assert blocked.value.retry_after == 30  # the first failure was 30 s ago
    assert blocked.value.headers == {"Retry-After": "30"}
    clock.now += 30
    throttle.refuse_if_blocked("10.0.0.1")  # one failure aged out: one more try


def test_addresses_tracked_are_bounded() -> None:
    throttle = FailedKeyThrottle(limit=1, window_seconds=60, clock=Clock(), max_clients=100)
    for n in range(1000):
        throttle.record_failure(f"10.0.{n // 256}.{n % 256}")

    throttle.refuse_if_blocked("10.0.0.1")  # forgotten, oldest first
    with pytest.raises(TooManyFailedKeys):
        throttle.refuse_if_blocked("10.0.3.231")


@pytest.fixture
def client_from(api: Any) -> Iterator[Callable[[str], CheckedClient]]:
    app = hardened_app(api.setup.context, failure_limit=LIMIT)
    clients: list[CheckedClient] = []

    def make(address: str) -> CheckedClient:
        client = CheckedClient(app, client=(address, 50000))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _form(key: str) -> dict[str, Any]:
    return {
        "content": f"api_key={key}",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }


WAYS: dict[str, Callable[[CheckedClient, str], Any]] = {
    "bearer": lambda c, key: c.get("/api/v1/goals", headers={"Authorization": f"Bearer {key}"}),
    "x-api-key": lambda c, key: c.get("/api/v1/goals", headers={"X-API-Key": key}),
    "query": lambda c, key: c.get("/odata/Tickets", params={"api_key": key}),
    "form": lambda c, key: c.post("/login", follow_redirects=False, **_form(key)),
    "cookie": lambda c, key: c.get("/", headers={"Cookie": f"{COOKIE_NAME}={key}"}),
    "write": lambda c, key: c.post(
        "/api/v1/objectives", headers={"X-API-Key": key}, json={"title": "x"}
    ),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_wrong_keys_are_throttled_and_logged(
    api: Any, client_from: Callable[[str], CheckedClient], way: str
) -> None:
    attempt = WAYS[way]
    client = client_from("203.0.113.7")
    LOG_COLLECTOR.lines.clear()

    refused = [attempt(client, WRONG).status_code for _ in range(LIMIT)]
    throttled = attempt(client, WRONG)
    good_key_meanwhile = attempt(client, api.admin["Authorization"].removeprefix("Bearer "))
    elsewhere = attempt(client_from("198.51.100.4"), WRONG)

    assert refused == [401] * LIMIT
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert good_key_meanwhile.status_code == 429  # no guessing through the block
    assert elsewhere.status_code == 401
    logged = [line for line in LOG_COLLECTOR.lines if "api_key_refused" in line]
    assert len(logged) == LIMIT + 1  # the blocked attempts are not logged one by one
    assert all("203.0.113.7" in line for line in logged[:LIMIT])
    assert not any(WRONG in line or WRONG[3:] in line for line in LOG_COLLECTOR.lines)


def test_429_bodies_say_when_to_try_again(client_from: Callable[[str], CheckedClient]) -> None:
    client = client_from("203.0.113.8")
    for _ in range(LIMIT):
        WAYS["bearer"](client, WRONG)

    api_answer = WAYS["bearer"](client, WRONG)
    odata_answer = WAYS["query"](client, WRONG)
    page = WAYS["form"](client, WRONG)

    assert api_answer.json()["code"] == "too_many_failed_keys"
    assert "Try again in" in api_answer.json()["message"]
    assert odata_answer.status_code == 429 and odata_answer.headers["OData-Version"] == "4.0"
    assert odata_answer.json()["error"]["code"] == "too_many_failed_keys"
    assert page.status_code == 429 and "try again in" in page.text
    assert "Retry-After" in page.headers and "Retry-After" in odata_answer.headers


def test_requests_without_a_key_are_not_counted(
    client_from: Callable[[str], CheckedClient],
) -> None:
    """Power BI and Excel ask without credentials first, and send them when refused."""
    client = client_from("203.0.113.9")

    answers = {client.get("/odata/Tickets").status_code for _ in range(LIMIT * 5)}

    assert answers == {401}
