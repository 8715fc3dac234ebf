"""The ConnectWise REST session: codebase discovery, request shapes and vendor quirks.

Everything vendor-specific about *sending* a request lives here; the SDK's `VendorClient`
does retries, `Retry-After`, budget and concurrency. Three statuses are handed back to this
module instead of being handled by the client (see `classify_response`): a 404, because on a
codebase path it usually means the tenant was upgraded to a new codebase; a 403, because a
security role without access to one reference table must not stop a whole source (callers
decide); and a 500 that says "timeout", because ConnectWise's database gave up on the query:
it is sent again as it is first, and only a query that keeps timing out asks for a smaller
page (`PageTooLarge`; see `window_pages.PageSizer`).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from connectors.connectwise.auth import ConnectWiseAuth, accept_header
from connectors.connectwise.check_wording import COMPANY_UNKNOWN, NOT_CONNECTWISE
from connectors.connectwise.config import ConnectWiseConfig
from connectors.sdk import (
    Action,
    AuthError,
    ConfigError,
    ConnectorContext,
    FatalError,
    TransientError,
    VendorClient,
)
from connectors.sdk.http import Sleep, http_status_error, vendor_message

API_ROOT = "apis/3.0"
# Conditions longer than this go in the body of `POST .../search`: ConnectWise recommends
# URLs under 2,000 characters (reference §4, "Long filters").
MAX_CONDITIONS_IN_URL = 1500
VENDOR = "ConnectWise"
# A query that timed out is sent this many times in all before its page is made smaller:
# most timeouts are a busy moment of the PSA's database, not a query too big for it.
TIMEOUT_TRIES = 2
_LINK_PART = re.compile(r'<([^>]*)>\s*;\s*rel="?([A-Za-z]+)"?')


class PageTooLarge(TransientError):
    """ConnectWise timed out on a query (500 "timeout") every time it was sent. Callers that
    page ask again with a smaller page; anywhere else it is an ordinary transient failure."""

    code = "psa_query_timeout"


class RecordGone(Exception):
    """A 404 that is not explained by a moved codebase: the record was deleted or moved."""


class NotPermitted(AuthError):
    """403: the API member's security role may not read this resource."""


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a collection with what its headers said.

    `server_time` is the `Date` header: the PSA's clock when it answered (None: absent).
    `link` is the raw `Link` header (None: absent, "": present and empty).
    """

    records: list[dict[str, Any]]
    server_time: datetime | None = None
    link: str | None = None

    def links(self) -> dict[str, dict[str, str]]:
        """`rel` -> the query parameters (names lower-cased) of that link's URL."""
        found: dict[str, dict[str, str]] = {}
        for url, rel in _LINK_PART.findall(self.link or ""):
            query = urlsplit(url).query
            found[rel.lower()] = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
        return found

    @property
    def next_page_id(self) -> int | None:
        """The `pageId` of a forward-only `rel="next"` link (one without `page`)."""
        following = self.links().get("next")
        if following is None or "page" in following:
            return None
        value = following.get("pageid", "")
        return int(value) if value.isdigit() else None

    @property
    def last_page(self) -> int | None:
        """The page number of a navigable `rel="last"` link: how many pages there are."""
        value = self.links().get("last", {}).get("page", "")
        return int(value) if value.isdigit() else None

    @property
    def navigable_link(self) -> bool:
        """A `page=`-style Link: the PSA paged the navigable way (it ignored forward-only)."""
        return any("page" in params for params in self.links().values())


def server_time(response: httpx.Response) -> datetime | None:
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def classify_response(response: httpx.Response) -> Action | None:
    """Let `ConnectWiseApi` handle 403s, 404s and database timeouts; the table does the rest."""
    if response.status_code in (403, 404):
        return Action.OK
    if response.status_code == 500 and "timeout" in response.text.lower():
        return Action.OK
    return None


class ConnectWiseApi:
    """Authenticated access to one tenant's `/{codebase}/apis/3.0` tree.

    No request is made until the first call. Methods raise the errors of
    `connectors.sdk.errors` (`PageTooLarge` and `NotPermitted` among them) and `RecordGone`.
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
            "(its login page does not answer); check the site.",
            code=NOT_CONNECTWISE,
        )
        answered = http_status_error(response)
        if response.status_code == 404:
            raise not_connectwise from answered
        if response.status_code == 403:
            raise AuthError("ConnectWise's login page refused Northstar (403).") from answered
        if response.status_code != 200:
            raise TransientError(
                f"ConnectWise's login page answered {response.status_code}; "
                "the sync will try again later."
            ) from answered
        try:
            body = response.json()
        except ValueError:
            raise not_connectwise from None
        if body is None:  # ConnectWise's answer for a company id it does not know
            raise ConfigError(
                f"ConnectWise does not know the company id '{company}'; use the company id "
                "from your ConnectWise login page.",
                code=COMPANY_UNKNOWN,
            )
        if not isinstance(body, Mapping):
            raise not_connectwise
        codebase = str(body.get("Codebase") or "").strip().strip("/")
        if not codebase:
            raise FatalError("ConnectWise's company info did not name a codebase.")
        return codebase

    def use_codebase(self, codebase: str) -> None:
        """Start from a codebase looked up by an earlier sync (no request)."""
        if self._codebase is None:
            self._codebase = codebase

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
        body, _ = await self._call("GET", resource, params=dict(params or {}))
        return body

    async def send(self, method: str, resource: str, body: Any = None) -> Any:
        """A write (`POST`, `DELETE`) on `resource` with a JSON `body`; the parsed answer, or
        None for an empty one (ConnectWise answers a DELETE with 204 and no body)."""
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        answer, _ = await self._call(method, resource, **kwargs)
        return answer

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
        """The records of one page (page 1) of a collection; see `get_page`."""
        page = await self.get_page(
            resource,
            conditions=conditions,
            child_conditions=child_conditions,
            fields=fields,
            order_by=order_by,
            page_size=page_size,
        )
        return page.records

    async def get_page(
        self,
        resource: str,
        *,
        conditions: str | None = None,
        child_conditions: str | None = None,
        fields: str | None = None,
        order_by: str | None = None,
        page_size: int = 1000,
        forward_only: bool = False,
        page_id: int | None = None,
    ) -> ListPage:
        """One page of a collection; every filter travels with the request.

        Navigable paging asks for page 1 (the caller moves an `id >` condition instead);
        `forward_only` sends `pagination-type: forward-only` and `pageId` instead of `page`
        (reference §3). Long conditions go through `POST {resource}/search` in the body.
        """
        params: dict[str, str | int] = {"pageSize": page_size}
        headers: dict[str, str] = {}
        if forward_only:
            headers["pagination-type"] = "forward-only"
            if page_id:
                params["pageId"] = page_id
        else:
            params["page"] = 1
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
            result, response = await self._call(
                "POST", resource + "/search", params=params, json=body, headers=headers
            )
        else:
            if conditions:
                params["conditions"] = conditions
            if child_conditions:
                params["childConditions"] = child_conditions
            result, response = await self._call("GET", resource, params=params, headers=headers)
        if not isinstance(result, list):
            raise FatalError(
                f"ConnectWise answered {resource} with {type(result).__name__}, not a list."
            )
        return ListPage(
            records=[record for record in result if isinstance(record, dict)],
            server_time=server_time(response),
            link=response.headers.get("Link"),
        )

    async def _call(self, method: str, resource: str, **kwargs: Any) -> tuple[Any, httpx.Response]:
        """Send until ConnectWise answers something usable; the parsed body and the response.

        A "timeout" 500 is sent again (`TIMEOUT_TRIES` in all, with the source's backoff)
        before it becomes PageTooLarge; junk JSON is asked for again like a 5xx.
        """
        policy = self._retry
        timeouts = 0
        junk = 0
        while True:
            codebase = await self.codebase()
            url = f"{codebase}/{API_ROOT}{resource}"
            response = await self.client.request(method, url, **kwargs)
            if response.status_code == 404:
                if await self._rediscover(codebase):
                    continue
                raise RecordGone(
                    f"{VENDOR} answered 404 on {resource}: {vendor_message(response)}"
                ) from http_status_error(response)
            if response.status_code == 403:
                raise NotPermitted(
                    f"{VENDOR} answered 403 on {method} {resource}: {vendor_message(response)}"
                ) from http_status_error(response)
            if response.status_code == 500:
                timeouts += 1
                if timeouts >= TIMEOUT_TRIES:
                    raise PageTooLarge(
                        f"{VENDOR} timed out on {resource}: {vendor_message(response)}"
                    )
                await self._back_off(timeouts)
                continue
            if response.status_code == 204 or (method == "DELETE" and not response.content):
                return None, response  # a write that succeeded and says nothing more
            try:
                return json.loads(response.content), response
            except ValueError:
                # Junk from a proxy or a half-written body: worth asking again.
                junk += 1
                if junk >= policy.max_attempts:
                    raise TransientError(
                        f"{VENDOR} kept sending responses that are not valid JSON on {resource}.",
                        code="psa_invalid_json",
                    ) from None
                await self._back_off(junk)

    async def _back_off(self, attempt: int) -> None:
        self.client.stats.retries += 1
        await self._sleep(self._retry.backoff(attempt))
