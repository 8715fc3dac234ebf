"""One HTTP behaviour for every connector (README, "How it fits together").

`VendorClient` wraps `httpx.AsyncClient` with: timeouts; a table from status to action;
retries of 429 and transient 5xx with exponential backoff and full jitter, honouring
`Retry-After`; no retry of 400/401/403/404; a per-source concurrency limit (plus an optional
limit per endpoint, e.g. Autotask's 3 per entity); a request budget per rolling window that
slows a sync down rather than exceeding it; and request counting for sync-run statistics.

Nothing here logs a header, a query string or a body, so credentials cannot leak from it.
Every credential a request carries is registered for masking before the request is sent
(`connectors.sdk.redaction`), and vendor text is scrubbed before it is shortened: a PSA or
proxy that echoes the request cannot put a credential, whole or cut, in an error or a log.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import random
import ssl
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import httpx
import structlog

# Re-exported: connectors and the app import both from here.
from connectors.sdk.budget import RequestBudget as RequestBudget
from connectors.sdk.budget import Sleep as Sleep
from connectors.sdk.errors import (
    AuthError,
    ConfigError,
    FatalError,
    TenantLimitReached,
    TransientError,
)
from connectors.sdk.redaction import credentials_sent, secret_registry

log = structlog.get_logger(__name__)


class Action(StrEnum):
    OK = "ok"
    RETRY = "retry"  # back off (honouring Retry-After) and try again
    AUTH = "auth"  # AuthError: credentials refused
    CONFIG = "config"  # ConfigError: the source's settings are wrong
    FATAL = "fatal"  # FatalError: do not retry this request
    LIMITED = "limited"  # TenantLimitReached: a limit shared with others; retrying adds load


# Status to action; statuses not listed fall back by class (2xx ok, 4xx fatal, 5xx retry).
DEFAULT_STATUS_ACTIONS: Mapping[int, Action] = {
    400: Action.FATAL,
    401: Action.AUTH,
    403: Action.AUTH,
    404: Action.FATAL,
    408: Action.RETRY,
    409: Action.FATAL,
    425: Action.RETRY,
    429: Action.RETRY,
    500: Action.RETRY,
    501: Action.FATAL,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}


def default_action(status: int) -> Action:
    if status in DEFAULT_STATUS_ACTIONS:
        return DEFAULT_STATUS_ACTIONS[status]
    if status < 400:
        return Action.OK
    return Action.FATAL if status < 500 else Action.RETRY


# A connector may look at a response first (vendor error codes hidden in 500s, say); None
# means "use the status table".
Classifier = Callable[[httpx.Response], Action | None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    # A Retry-After longer than this is not waited for inside one run: the run stops with a
    # TransientError and the next tick resumes.
    max_retry_after: float = 300.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given 1-based attempt."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class SourceHttpLimits:
    """Per-source HTTP limits, shared by all streams of a source."""

    max_concurrency: int = 4
    # Separate limit per `concurrency_key` (e.g. per Autotask entity); None: no such limit.
    per_key_concurrency: int | None = None
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    budget: RequestBudget = field(default_factory=RequestBudget)
    # Counts every request of every client built with these limits (sync-run statistics).
    stats: RequestStats = field(default_factory=RequestStats)
    # What steady polling may spend an hour (None: the budget's limit), and for a PSA whose
    # limit is the tenant's, as a share of it: the rest of the budget (backfills, full
    # re-reads) is borrowed, and the scheduler stretches intervals to stay within it.
    steady_requests_per_hour: int | None = None
    tenant_share: float | None = None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def vendor_message(response: httpx.Response, limit: int = 300) -> str:
    """The vendor's own error text, credentials masked, then shortened to `limit`."""
    try:
        body = response.json()
    except ValueError:
        return secret_registry.redact_and_shorten(response.text, limit) or response.reason_phrase
    if isinstance(body, Mapping):
        for key in ("message", "Message", "error", "errors", "detail"):
            if body.get(key):
                value = body[key]
                if isinstance(value, list):
                    value = "; ".join(str(v) for v in value)
                return secret_registry.redact_and_shorten(str(value), limit)
    return secret_registry.redact_and_shorten(json.dumps(body), limit)


def http_status_error(response: httpx.Response) -> httpx.HTTPStatusError:
    """`response` as the exception a ConnectorError is raised from (`raise ... from`), so
    whoever explains the error (a source check, `connectors.sdk.check_errors`) can tell what
    the PSA answered and where. Its text names only the status, never the URL."""
    return httpx.HTTPStatusError(
        f"HTTP {response.status_code}", request=response.request, response=response
    )


def _host_of(exc: httpx.RequestError) -> str:
    try:
        return exc.request.url.host or "the PSA"
    except RuntimeError:  # an error raised without its request
        return "the PSA"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # httpx's default verification, built once: loading the CA bundle takes tens of
    # milliseconds that every client (so every sync and every check) would pay again.
    return httpx.create_ssl_context()


class VendorClient:
    """An `httpx.AsyncClient` with Northstar's retry, limit and budget behaviour.

    Use `await client.request_json(...)` for JSON APIs; `request` returns the raw response
    after the status has been classified as OK. Both raise `connectors.sdk.errors` only.
    """

    def __init__(
        self,
        *,
        base_url: str,
        limits: SourceHttpLimits,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        classify: Classifier | None = None,
        sleep: Sleep = asyncio.sleep,
        vendor: str = "PSA",
        secret_params: Collection[str] = (),
    ) -> None:
        """`secret_params`: names of query parameters whose values are credentials, beyond
        those recognised by name (`user`, `token`, `api_key`...; see `redaction`)."""
        self.limits = limits
        self.stats = limits.stats
        self.vendor = vendor
        self._classify = classify
        self._sleep = sleep
        self._concurrency = asyncio.Semaphore(limits.max_concurrency)
        self._per_key: dict[str, asyncio.Semaphore] = {}
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            auth=auth,
            transport=transport,
            verify=_tls_context(),
            timeout=httpx.Timeout(limits.timeout, connect=min(10.0, limits.timeout)),
            follow_redirects=False,
            event_hooks={"request": [self._register_credentials]},
        )
        self._secret_params = tuple(secret_params)

    async def _register_credentials(self, request: httpx.Request) -> None:
        # Runs after the auth flow, on exactly what goes on the wire: whatever the PSA or a
        # proxy echoes back is masked before Northstar reads it.
        secret_registry.add(
            *credentials_sent(
                request.headers.multi_items(),
                request.url.params.multi_items(),
                secret_params=self._secret_params,
            )
        )

    @property
    def base_url(self) -> httpx.URL:
        return self._http.base_url

    def set_base_url(self, url: str) -> None:
        self._http.base_url = httpx.URL(url)

    async def aclose(self) -> None:
        await self._http.aclose()
        # What was booked from a shared ledger and not used goes back to the other processes.
        await asyncio.to_thread(self.limits.budget.release)

    def _key_semaphore(self, key: str | None) -> asyncio.Semaphore | None:
        if key is None or self.limits.per_key_concurrency is None:
            return None
        if key not in self._per_key:
            self._per_key[key] = asyncio.Semaphore(self.limits.per_key_concurrency)
        return self._per_key[key]

    async def _send_once(
        self, method: str, url: str, concurrency_key: str | None, **kwargs: Any
    ) -> httpx.Response:
        await self.limits.budget.acquire(self._sleep)
        key_sem = self._key_semaphore(concurrency_key)
        async with self._concurrency:
            if key_sem is None:
                self.stats.requests += 1
                return await self._http.request(method, url, **kwargs)
            async with key_sem:
                self.stats.requests += 1
                return await self._http.request(method, url, **kwargs)

    async def request(
        self,
        method: str,
        url: str,
        *,
        concurrency_key: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries; return a response classified OK or raise a ConnectorError."""
        policy = self.limits.retry
        path = httpx.URL(url).path or url
        last_problem = ""
        # Every error raised here is chained to what caused it (the transport failure, or
        # the answer as an HTTPStatusError), so a check can say what happened and where.
        last_cause: Exception | None = None
        for attempt in range(1, policy.max_attempts + 1):
            retry_after: float | None = None
            try:
                response = await self._send_once(method, url, concurrency_key, **kwargs)
            except httpx.TimeoutException as exc:
                last_problem = f"{self.vendor} at {_host_of(exc)} did not answer in time"
                last_cause = exc
            except httpx.TransportError as exc:
                last_problem = (
                    f"could not reach {self.vendor} at {_host_of(exc)} ({type(exc).__name__})"
                )
                last_cause = exc
            else:
                action = (self._classify(response) if self._classify else None) or (
                    default_action(response.status_code)
                )
                if action is Action.OK:
                    return response
                message = f"{self.vendor} answered {response.status_code} on {method} {path}: "
                message += vendor_message(response)
                answered = http_status_error(response)
                if action is Action.AUTH:
                    raise AuthError(message) from answered
                if action is Action.CONFIG:
                    raise ConfigError(message) from answered
                if action is Action.FATAL:
                    raise FatalError(message, code=f"psa_http_{response.status_code}") from answered
                if action is Action.LIMITED:
                    wait = parse_retry_after(response.headers.get("Retry-After"))
                    raise TenantLimitReached(message, retry_after=wait) from answered
                last_problem, last_cause = message, answered
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > policy.max_retry_after:
                    raise TransientError(message, retry_after=retry_after) from answered
            if attempt == policy.max_attempts:
                break
            delay = retry_after if retry_after is not None else policy.backoff(attempt)
            self.stats.retries += 1
            self.stats.waited_seconds += delay
            log.info(
                "psa_request_retry",
                vendor=self.vendor,
                path=path,
                attempt=attempt,
                delay_s=round(delay, 2),
                problem=secret_registry.redact_and_shorten(last_problem, 200),
            )
            await self._sleep(delay)
        raise TransientError(
            f"{last_problem} (gave up after {policy.max_attempts} attempts)",
        ) from last_cause

    async def request_json(
        self, method: str, url: str, *, concurrency_key: str | None = None, **kwargs: Any
    ) -> Any:
        """Like `request`, parsing JSON; a body that is not JSON is retried like a 5xx."""
        policy = self.limits.retry
        for attempt in range(1, policy.max_attempts + 1):
            response = await self.request(method, url, concurrency_key=concurrency_key, **kwargs)
            try:
                return response.json()
            except ValueError:
                if attempt == policy.max_attempts:
                    break
                self.stats.retries += 1
                await self._sleep(policy.backoff(attempt))
        raise TransientError(
            f"{self.vendor} sent a response that is not valid JSON on {method} "
            f"{httpx.URL(url).path}",
            code="psa_invalid_json",
        )
