"""The ConnectWise REST session: codebase discovery, request shapes and vendor quirks.

Everything vendor-specific about *sending* a request lives here; the SDK's `VendorClient`
does retries, `Retry-After`, budget and concurrency. Two statuses are handed back to this
module instead of being raised by the client (see `classify_response`): a 404, because on a
codebase path it usually means the tenant was upgraded to a new codebase, and a 500 that says
"timeout", because the cure is a smaller page, not the same request again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from connectors.connectwise.auth import ConnectWiseAuth, accept_header
from connectors.connectwise.config import ConnectWiseConfig
from connectors.sdk import (
    Action,
    ConfigError,
    ConnectorContext,
    FatalError,
    TransientError,
    VendorClient,
)
from connectors.sdk.http import Sleep, vendor_message

log = structlog.get_logger(__name__)

API_ROOT = "apis/3.0"
# Conditions longer than this go in the body of `POST .../search`: ConnectWise recommends
# URLs under 2,000 characters (reference §4, "Long filters").
MAX_CONDITIONS_IN_URL = 1500
VENDOR = "ConnectWise"
# The smallest page worth asking for after ConnectWise timed out on bigger ones.
MIN_PAGE_SIZE = 25


class PageTooLarge(Exception):
    """ConnectWise timed out on a query (500 "timeout"): ask again with a smaller page."""


class PageSizer:
    """The page size of one read; halves after a database timeout, down to a floor."""

    def __init__(self, size: int) -> None:
        self.size = size

    def shrink(self, resource: str) -> None:
        if self.size <= MIN_PAGE_SIZE:
            raise TransientError(
                f"ConnectWise timed out on {resource} even for pages of {self.size} records; "
                "it may be overloaded, the sync will try again later.",
                code="psa_query_timeout",
            )
        self.size = max(MIN_PAGE_SIZE, self.size // 2)
        log.info("connectwise_page_shrunk", resource=resource, page_size=self.size)


class RecordGone(Exception):
    """A 404 that is not explained by a moved codebase: the record was deleted or moved."""


def classify_response(response: httpx.Response) -> Action | None:
    """Let `ConnectWiseApi` handle 404s and database timeouts; defer the rest to the table."""
    if response.status_code == 404:
        return Action.OK
    if response.status_code == 500 and "timeout" in response.text.lower():
        return Action.OK
    return None


class ConnectWiseApi:
    """Authenticated access to one tenant's `/{codebase}/apis/3.0` tree.

    No request is made until the first call. Methods raise the errors of
    `connectors.sdk.errors`, `PageTooLarge` and `RecordGone`.
    """

    def __init__(
        self,
        config: ConnectWiseConfig,
        context: ConnectorContext,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._config = config
        self._sleep = sleep
        self._retry = context.limits.retry
        self._codebase = config.codebase
        self._codebase_lock = asyncio.Lock()
        self._rediscovered = False
        self.client = VendorClient(
            base_url=config.root_url + "/",
            limits=context.limits,
            headers={"Accept": accept_header(config.api_version), "Cache-Control": "no-cache"},
            auth=ConnectWiseAuth(
                company_id=config.company_id,
                public_key=config.public_key,
                private_key=config.private_key,
                client_id=config.client_id,
            ),
            transport=context.transport,
            classify=classify_response,
            sleep=sleep,
            vendor=VENDOR,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- codebase -----------------------------------------------------------------------

    async def discover_codebase(self) -> str:
        """Ask `/login/companyinfo/{company}` (unauthenticated) for the tenant's codebase.

        Raises ConfigError when the host is not a ConnectWise server or does not know the
        company id.
        """
        company = self._config.company_id
        response = await self.client.request(
            "GET", f"login/companyinfo/{quote(company, safe='')}", auth=None
        )
        not_connectwise = ConfigError(
            f"{self._config.root_url} does not look like a ConnectWise PSA server "
            "(its login page does not answer); check the site."
        )
        if response.status_code == 404:
            raise not_connectwise
        if response.status_code != 200:
            raise TransientError(
                f"ConnectWise's login page answered {response.status_code}; "
                "the sync will try again later."
            )
        try:
            body = response.json()
        except ValueError:
            raise not_connectwise from None
        if body is None:  # ConnectWise's answer for a company id it does not know
            raise ConfigError(
                f"ConnectWise does not know the company id '{company}'; use the company id "
                "from your ConnectWise login page."
            )
        if not isinstance(body, Mapping):
            raise not_connectwise
        codebase = str(body.get("Codebase") or "").strip().strip("/")
        if not codebase:
            raise FatalError("ConnectWise's company info did not name a codebase.")
        return codebase

    async def codebase(self) -> str:
        if self._codebase is None:
            async with self._codebase_lock:
                if self._codebase is None:
                    self._codebase = await self.discover_codebase()
        return self._codebase

    async def _rediscover(self, stale: str) -> bool:
        """After a 404: look the codebase up again, once per session. True if it moved."""
        async with self._codebase_lock:
            if self._codebase != stale:
                return True  # another request already moved it
            if self._rediscovered:
                return False
            self._rediscovered = True
            fresh = await self.discover_codebase()
            self._codebase = fresh
            return fresh != stale

    # -- requests -----------------------------------------------------------------------

    async def get_json(self, resource: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET `resource` (e.g. `/service/tickets`) and return its parsed JSON body."""
        return await self._call("GET", resource, params=dict(params or {}))

    async def get_list(
        self,
        resource: str,
        *,
        conditions: str | None = None,
        child_conditions: str | None = None,
        fields: str | None = None,
        order_by: str | None = None,
        page_size: int = 1000,
    ) -> list[dict[str, Any]]:
        """One page (page 1) of a collection; every filter travels with the request.

        Long conditions go through `POST {resource}/search` with the filter in the body.
        """
        params: dict[str, str | int] = {"page": 1, "pageSize": page_size}
        if fields:
            params["fields"] = fields
        if order_by:
            params["orderBy"] = order_by
        long_filter = len(conditions or "") + len(child_conditions or "") > MAX_CONDITIONS_IN_URL
        if long_filter:
            body: dict[str, str] = {}
            if conditions:
                body["conditions"] = conditions
            if child_conditions:
                body["childConditions"] = child_conditions
            if order_by:
                body["orderBy"] = str(params.pop("orderBy"))
            result = await self._call("POST", resource + "/search", params=params, json=body)
        else:
            if conditions:
                params["conditions"] = conditions
            if child_conditions:
                params["childConditions"] = child_conditions
            result = await self._call("GET", resource, params=params)
        if not isinstance(result, list):
            raise FatalError(
                f"ConnectWise answered {resource} with {type(result).__name__}, not a list."
            )
        return [record for record in result if isinstance(record, dict)]

    async def _call(self, method: str, resource: str, **kwargs: Any) -> Any:
        policy = self._retry
        for attempt in range(1, policy.max_attempts + 1):
            codebase = await self.codebase()
            url = f"{codebase}/{API_ROOT}{resource}"
            response = await self.client.request(method, url, **kwargs)
            if response.status_code == 404:
                if await self._rediscover(codebase):
                    continue
                raise RecordGone(f"{VENDOR} answered 404 on {resource}: {vendor_message(response)}")
            if response.status_code == 500:
                raise PageTooLarge(vendor_message(response))
            try:
                return json.loads(response.content)
            except ValueError:
                # Junk from a proxy or a half-written body: worth asking again.
                if attempt < policy.max_attempts:
                    self.client.stats.retries += 1
                    await self._sleep(policy.backoff(attempt))
        raise TransientError(
            f"{VENDOR} kept sending responses that are not valid JSON on {resource}.",
            code="psa_invalid_json",
        )
