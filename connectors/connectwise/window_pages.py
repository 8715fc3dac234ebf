"""One page of an id window, asked for the cheapest way the PSA allows (reference §3).

Forward-only paging (`pagination-type: forward-only` with `pageId`, ConnectWise 2018.5 and
later) is used where the PSA honours it: the PSA walks its own id index, and its empty `Link`
on the last page saves the request for an empty page. Until a resource has confirmed it, the
request also carries the `id >` condition of the classic way, so whatever paging the server
applied the page holds the right records; a server that refuses forward-only (400) or
ignores it (a navigable `page=` Link, or ids out of order) is read the classic way from then
on: page 1, `orderBy=id asc`, a moving `id >` condition.

A query ConnectWise keeps timing out on (each is first sent again, see `api.py`) is asked for
with a smaller page, which grows back once pages succeed again (`PageSizer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import structlog

from connectors.connectwise.api import ConnectWiseApi, ListPage, PageTooLarge
from connectors.connectwise.passes import WindowPage
from connectors.connectwise.queries import all_of, id_window
from connectors.sdk import FatalError

log = structlog.get_logger(__name__)

# The smallest page worth asking for after ConnectWise timed out on bigger ones.
MIN_PAGE_SIZE = 25
# After this many pages in a row without a timeout, a shrunken page size doubles again.
GROW_AFTER_PAGES = 2


class PageSizer:
    """The page size of one read: halves when a query keeps timing out (down to a floor) and
    doubles back after `GROW_AFTER_PAGES` pages in a row succeeded, never past `limit`; when
    the grown size times out again, it waits twice as many pages before the next try."""

    def __init__(self, size: int) -> None:
        self.limit = size
        self.size = size
        self._streak = 0
        self._grow_after = GROW_AFTER_PAGES
        self._just_grown = False

    def shrink(self, resource: str) -> None:
        """Raises PageTooLarge when the page is already as small as it gets."""
        self._streak = 0
        if self._just_grown:  # the size it grew back to is too big still: wait longer
            self._grow_after *= 2
            self._just_grown = False
        if self.size <= MIN_PAGE_SIZE:
            raise PageTooLarge(
                f"ConnectWise timed out on {resource} even for pages of {self.size} records; "
                "it may be overloaded, the sync will try again later."
            )
        self.size = max(MIN_PAGE_SIZE, self.size // 2)
        log.info("connectwise_page_shrunk", resource=resource, page_size=self.size)

    def succeeded(self) -> None:
        self._just_grown = False
        if self.size >= self.limit:
            return
        self._streak += 1
        if self._streak >= self._grow_after:
            self._streak = 0
            self._just_grown = True
            self.size = min(self.limit, self.size * 2)
            log.info("connectwise_page_grown", page_size=self.size)


@dataclass(slots=True)
class PagingModes:
    """Which resources page forward-only, shared by all reads of one connector.

    `confirmed[resource]`: True once a forward-only `Link` came back, False once the PSA
    refused or ignored it; absent: not known yet (forward-only is tried).
    """

    enabled: bool = True
    confirmed: dict[str, bool] = field(default_factory=dict)

    def forward_only(self, resource: str) -> bool:
        return self.enabled and self.confirmed.get(resource) is not False

    def trusted(self, resource: str) -> bool:
        return self.confirmed.get(resource) is True

    def refuse(self, resource: str, how: str) -> None:
        if self.confirmed.get(resource) is not False:
            log.info("connectwise_forward_only_unavailable", resource=resource, how=how)
        self.confirmed[resource] = False


def record_id(record: dict[str, Any]) -> int | None:
    value = record.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def last_id(records: list[dict[str, Any]]) -> int | None:
    """The id of the last record that has one (a record without an id is passed on for
    `normalize` to reject, never paged on)."""
    for record in reversed(records):
        found = record_id(record)
        if found is not None:
            return found
    return None


def _ascending(records: list[dict[str, Any]]) -> bool:
    ids = [found for record in records if (found := record_id(record)) is not None]
    return all(first < second for first, second in pairwise(ids))


async def fetch_window_page(
    api: ConnectWiseApi,
    resource: str,
    *,
    fields: str,
    conditions: str | None,
    after_id: int,
    upto_id: int | None,
    sizer: PageSizer,
    modes: PagingModes,
    classic: bool = False,
) -> WindowPage:
    """The next page of records with `after_id < id <= upto_id` matching `conditions`;
    `classic`: page the navigable way (its `Link` says how many pages there are)."""
    while True:
        size = sizer.size
        forward = modes.forward_only(resource) and not classic
        # Once forward-only is confirmed, `pageId` alone carries the lower bound.
        lower = None if forward and modes.trusted(resource) else after_id
        try:
            page = await api.get_page(
                resource,
                conditions=all_of(conditions, id_window(lower, upto_id)),
                fields=fields,
                order_by=None if forward else "id asc",
                page_size=size,
                forward_only=forward,
                page_id=after_id if forward else None,
            )
        except PageTooLarge:
            sizer.shrink(resource)
            continue
        except FatalError as error:
            if not forward or error.code != "psa_http_400":
                raise
            modes.refuse(resource, "refused")
            continue
        sizer.succeeded()
        if forward and not _usable_forward_page(page, resource, size, modes):
            continue
        return _window_page(page, size, upto_id, forward and modes.trusted(resource))


def _usable_forward_page(page: ListPage, resource: str, size: int, modes: PagingModes) -> bool:
    """Judge a forward-only answer: learn whether the PSA honoured it, and whether the page
    can be used as it is (False: ask again the classic way)."""
    if page.next_page_id is not None or page.link == "":
        modes.confirmed[resource] = True
        return True
    if page.navigable_link:
        modes.refuse(resource, "ignored")
    # A short page holds every match either way; a full one only if it came in id order.
    return len(page.records) < size or _ascending(page.records) or _refuse(modes, resource)


def _refuse(modes: PagingModes, resource: str) -> bool:
    modes.refuse(resource, "out of order")
    return False


def _window_page(page: ListPage, size: int, upto_id: int | None, forward: bool) -> WindowPage:
    records = page.records
    last = last_id(records)
    next_after = last
    if forward and page.next_page_id is not None:
        # The next pageId is the page's last id (reference §3): never jump past what came,
        # but trust it past a last record that lost its id.
        tail = record_id(records[-1]) if records else None
        next_after = page.next_page_id if tail is None else min(tail, page.next_page_id)
    exhausted = (
        len(records) < size
        or (forward and page.next_page_id is None and page.link is not None)
        or (upto_id is not None and last is not None and last >= upto_id)
    )
    return WindowPage(
        records,
        exhausted=exhausted,
        next_after=next_after,
        server_time=page.server_time,
        last_page=None if forward else page.last_page,
    )
