"""Talking to Autotask: zone, auth headers, error classification, limits.

Everything goes through the SDK's `VendorClient` (retries, Retry-After, budget); this module
adds what is Autotask's own: the zone in front of every path, the three auth headers, the
errors hidden in HTTP 500s, at most 3 requests in flight per entity, and the tenant's live
usage read from `ThresholdInformation`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

import httpx
import structlog

from connectors.autotask.config import AutotaskConfig
from connectors.autotask.zone import AutotaskZoneResolver
from connectors.sdk import (
    Action,
    AuthError,
    ConnectorContext,
    FatalError,
    MemoryTenantBook,
    SourceHttpLimits,
    TenantLimitReached,
    TenantUsage,
    VendorClient,
)
from connectors.sdk.http import RequestBudget, Sleep

log = structlog.get_logger(__name__)

# Thread-limit rejections come with 429 or 500 depending on the tenant: match the text.
_WAIT_MARKERS = ("itgenatr005", "thread threshold")
# Client mistakes Autotask reports as HTTP 500: retrying cannot help.
_CLIENT_MISTAKES: tuple[tuple[str, Action], ...] = (
    ("integrationcode is invalid", Action.AUTH),  # the ApiIntegrationCode
    ("unable to find", Action.FATAL),  # an unknown field in the filter or IncludeFields
    ("maxcountofrecordstoreturn", Action.FATAL),  # MaxRecords outside 1..500
    ("not queryable", Action.FATAL),
    ("adequate permissions", Action.CONFIG),  # the API user's security level
)
_ZONE_PLACEHOLDER = "https://zone.not-resolved.invalid/v1.0/"


def classify_response(response: httpx.Response) -> Action | None:
    """Autotask-specific actions before the SDK's status table (None: use the table)."""
    status = response.status_code
    if status < 400:
        return None
    text = response.text[:4000].lower()
    if any(marker in text for marker in _WAIT_MARKERS):
        return Action.RETRY
    if status == 429 and "threshold" in text:
        # The tenant's hourly limit (the wording is not documented; the thread limit's is
        # matched above): retrying only adds to the load every integration shares.
        return Action.LIMITED
    if "zoneinformation" in response.request.url.path.lower() and status in (404, 500):
        # Autotask knows no such API username ("Zone information could not be determined";
        # other wordings mention the user). Any other 500 there is Autotask's own trouble.
        unknown_user = "user" in text or "could not be determined" in text
        return Action.CONFIG if status == 404 or unknown_user else Action.RETRY
    if status == 500:
        for marker, action in _CLIENT_MISTAKES:
            if marker in text:
                return action
    return None


# Per source (keyed by its budget, the object the runner keeps per source) and event loop:
# one semaphore per entity, shared by every connector instance of the source, so two
# streams read at once still never exceed Autotask's thread limit together.
_SOURCE_GATES: WeakKeyDictionary[
    RequestBudget, WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]]
] = WeakKeyDictionary()


# The tenant's usage is read at most this often for every process of a source (clients
# poll ThresholdInformation about every 5 minutes; each stream asking again would cost a
# request and a round trip each), and sooner after its limit was reached, to see it recover.
TENANT_USAGE_MAX_AGE = timedelta(minutes=5)
TENANT_RECHECK = timedelta(minutes=1)
# Requests of the tenant's hourly limit Northstar leaves unused: room to read
# ThresholdInformation and see the tenant recover, and for the other integrations.
TENANT_RESERVE = 50
# The tenant's limit when no reading says otherwise (Autotask's documented 10,000 an hour).
DEFAULT_TENANT_THRESHOLD = 10_000
# Per source (keyed by its budget): the tenant readings of a connector used without a book.
_MEMORY_BOOKS: WeakKeyDictionary[RequestBudget, MemoryTenantBook] = WeakKeyDictionary()


def _source_gates(budget: RequestBudget) -> dict[str, asyncio.Semaphore]:
    per_loop = _SOURCE_GATES.setdefault(budget, WeakKeyDictionary())
    return per_loop.setdefault(asyncio.get_running_loop(), {})


def http_limits(config: AutotaskConfig) -> SourceHttpLimits:
    """The HTTP limits the runner should give an Autotask source: at most
    `concurrency_per_entity` (≤ 3) requests in flight per entity and a request budget of
    `requests_per_hour` per rolling hour. Build it once per source and share it between that
    source's runs, so the budget counts all of them."""
    return SourceHttpLimits(
        max_concurrency=config.concurrency_per_entity * 3,
        per_key_concurrency=config.concurrency_per_entity,
        budget=RequestBudget(limit=config.requests_per_hour, window=3600.0),
        tenant_share=config.tenant_share_percent / 100,
        steady_requests_per_hour=round(
            DEFAULT_TENANT_THRESHOLD * config.tenant_share_percent / 100
        ),
    )


class AutotaskApi:
    """Authenticated JSON calls relative to the zone's `v1.0/` root.

    Construction makes no request; the zone is resolved on first use. Raises the errors of
    `connectors.sdk.errors`, with messages that never contain a credential.
    """

    def __init__(
        self,
        config: AutotaskConfig,
        context: ConnectorContext,
        *,
        sleep: Sleep | None = None,
    ) -> None:
        self._config = config
        self._client = VendorClient(
            base_url=config.rest_root(config.zone_url) if config.zone_url else _ZONE_PLACEHOLDER,
            limits=context.limits,
            transport=context.transport,
            classify=classify_response,
            vendor="Autotask",
            sleep=sleep or asyncio.sleep,
        )
        self._zone = AutotaskZoneResolver(
            lookup_url=config.zone_lookup_url,
            username=config.api_username.get_secret_value(),
            get_json=self._get_zone_json,
        )
        self._zone_known = config.zone_url is not None
        self._zone_lock = asyncio.Lock()
        budget = context.limits.budget
        self._tenant_book = context.tenant or _MEMORY_BOOKS.setdefault(budget, MemoryTenantBook())
        self._tenant: TenantUsage | None = None
        self._asked_since_reading = 0

    @property
    def client(self) -> VendorClient:
        return self._client

    async def aclose(self) -> None:
        await self._client.aclose()

    def _auth_headers(self) -> dict[str, str]:
        return {
            "ApiIntegrationCode": self._config.integration_code.get_secret_value(),
            "UserName": self._config.api_username.get_secret_value(),
            "Secret": self._config.secret.get_secret_value(),
            "Content-Type": "application/json",
        }

    async def _get_zone_json(self, url: str, params: dict[str, str]) -> Any:
        # No credentials: the lookup does not need them and should never see them.
        return await self._client.request_json(
            "GET", url, params=params, concurrency_key="zoneInformation"
        )

    async def _use_zone(self, *, refresh: bool) -> None:
        async with self._zone_lock:
            if self._zone_known and not refresh:
                return
            if refresh:
                self._zone.invalidate()
            self._client.set_base_url(self._config.rest_root(await self._zone.resolve()))
            self._zone_known = True

    def _gate(self, entity: str) -> asyncio.Semaphore:
        gates = _source_gates(self._client.limits.budget)
        key = entity.lower()
        if key not in gates:
            gates[key] = asyncio.Semaphore(self._config.concurrency_per_entity)
        return gates[key]

    async def call_json(
        self, method: str, path: str, *, entity: str, json: Mapping[str, Any] | None = None
    ) -> Any:
        """One call to `path` (relative to `v1.0/`), counted against `entity`'s thread limit.

        After a 401 on a discovered zone the zone is looked up again and the call repeated
        once; a second 401 raises AuthError.
        """
        if not self._zone_known:
            await self._use_zone(refresh=False)
        if entity != "ThresholdInformation":
            self._spend_tenant_room()
        async with self._gate(entity):
            try:
                return await self._send(method, path, entity, json)
            except AuthError:
                if self._config.zone_url is not None:
                    raise
                log.info("autotask_zone_reresolve", entity=entity)
            await self._use_zone(refresh=True)
            return await self._send(method, path, entity, json)

    async def _send(
        self, method: str, path: str, entity: str, json: Mapping[str, Any] | None
    ) -> Any:
        try:
            return await self._client.request_json(
                method,
                path,
                headers=self._auth_headers(),
                concurrency_key=entity,
                **({"json": dict(json)} if json is not None else {}),
            )
        except TenantLimitReached as exc:
            raise self._tenant_refused(exc.retry_after) from exc

    async def query(self, entity: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`POST {entity}/query`: one page of items, ascending by id."""
        data = await self.call_json("POST", f"{entity}/query", entity=entity, json=body)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise FatalError(
                f"Autotask answered a {entity} query without an items list.",
                code="autotask_unexpected_response",
            )
        return items

    async def count(self, entity: str, filters: Sequence[Mapping[str, Any]]) -> int:
        """`POST {entity}/query/count`: how many records match `filters`."""
        body = {"filter": [dict(f) for f in filters]}
        data = await self.call_json("POST", f"{entity}/query/count", entity=entity, json=body)
        value = data.get("queryCount") if isinstance(data, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise FatalError(
                f"Autotask answered a {entity} count without a queryCount.",
                code="autotask_unexpected_response",
            )
        return value

    async def entity_fields(self, entity: str) -> Sequence[Mapping[str, Any]]:
        """`GET {entity}/entityInformation/fields`: field metadata incl. picklists."""
        data = await self.call_json("GET", f"{entity}/entityInformation/fields", entity=entity)
        fields = data.get("fields") if isinstance(data, dict) else None
        return fields if isinstance(fields, list) else []

    async def threshold_information(self) -> dict[str, Any]:
        data = await self.call_json("GET", "ThresholdInformation", entity="ThresholdInformation")
        return data if isinstance(data, dict) else {}

    async def note_tenant_usage(
        self, *, force: bool = False, refuse: bool = True
    ) -> TenantUsage | None:
        """The tenant's usage: the latest reading of any process while it is recent (see
        `TENANT_USAGE_MAX_AGE`, `TENANT_RECHECK`), else read now (the call itself counts).

        Raises TenantLimitReached (unless not to `refuse`), asking nothing more, when the
        tenant has no more than `TENANT_RESERVE` requests left of its hourly limit."""
        now = datetime.now(UTC)
        latest = self._tenant_book.latest()
        if force or latest is None or _due_again(latest, now):
            latest = await self._read_tenant_usage(now) or latest
        if latest != self._tenant:
            self._tenant, self._asked_since_reading = latest, 0
        if refuse and latest is not None and latest.headroom <= TENANT_RESERVE:
            raise self._limit_reached(latest, now)
        return latest

    async def _read_tenant_usage(self, now: datetime) -> TenantUsage | None:
        info = await self.threshold_information()
        try:
            threshold = int(info.get("externalRequestThreshold") or 0)
            used = int(info.get("currentTimeframeRequestCount") or 0)
            window = int(info.get("requestThresholdTimeframe") or 60)
        except (TypeError, ValueError):
            return None
        if threshold <= 0:
            return None
        usage = TenantUsage(threshold=threshold, used=used, read_at=now, window_minutes=window)
        self._tenant_book.record(usage)
        log.info("autotask_tenant_usage", used=used, threshold=threshold)
        return usage

    def _spend_tenant_room(self) -> None:
        """Count one request against the tenant's room at the last reading; refuse when
        only the reserve would be left."""
        usage = self._tenant
        if usage is not None and usage.headroom - self._asked_since_reading <= TENANT_RESERVE:
            raise self._limit_reached(usage, datetime.now(UTC))
        self._asked_since_reading += 1

    def _tenant_refused(self, retry_after: float | None) -> TenantLimitReached:
        """Autotask refused a request for the tenant's limit: kept as the tenant's state
        (every process of the source waits for it), not as this source's spending."""
        now = datetime.now(UTC)
        threshold = self._tenant.threshold if self._tenant else DEFAULT_TENANT_THRESHOLD
        wait = timedelta(seconds=retry_after) if retry_after else TENANT_RECHECK
        usage = TenantUsage(threshold, threshold, now, limited_until=now + wait)
        self._tenant_book.record(usage)
        self._tenant = usage
        return self._limit_reached(usage, now)

    @staticmethod
    def _limit_reached(usage: TenantUsage, now: datetime) -> TenantLimitReached:
        again = usage.limited_until or usage.read_at + TENANT_RECHECK
        wait = max(1.0, (again - now).total_seconds())
        if usage.limited_until is not None:
            said = f"Autotask refused requests at {usage.read_at:%H:%M} UTC"
        else:
            said = f"{usage.used:,} were used at {usage.read_at:%H:%M} UTC"
        return TenantLimitReached(
            f"Autotask's limit of {usage.threshold:,} API requests per hour for the whole "
            f"tenant, shared by all its integrations, is used up ({said}). Northstar keeps "
            f"the last {TENANT_RESERVE} in reserve and asks nothing more until the tenant's "
            f"usage drops; it looks again at {again:%H:%M} UTC.",
            retry_after=wait,
        )


def _due_again(latest: TenantUsage, now: datetime) -> bool:
    """Whether the tenant's usage should be read again now."""
    if latest.limited_until is not None:
        return now >= latest.limited_until
    if latest.headroom <= TENANT_RESERVE:
        return now >= latest.read_at + TENANT_RECHECK
    return now >= latest.read_at + TENANT_USAGE_MAX_AGE
