"""Listing a collection the ConnectWise way: `page`/`pageSize`, `Link` headers, forward-only
paging, `/count`, `fields` and `orderBy` (reference §3, §9.5-9.7).

Filters are applied without rendering whatever can be decided from ids and change stamps, so
a page costs what it returns rather than the size of the collection.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from connectors.connectwise.simulator_catalog import API_VERSION
from connectors.connectwise.simulator_collections import Collection, Json
from connectors.connectwise.simulator_conditions import compile_conditions
from connectors.connectwise.simulator_fields import (
    parse_fields,
    parse_order_by,
    project,
    sort_records,
)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 25


@dataclass
class SimulatorFaults:
    """Switches a test flips on the live simulator. `*_every=N`: every N-th API request."""

    latency: float = 0.0  # seconds per request
    rate_limit_every: int | None = None
    retry_after_seconds: int = 1
    server_error_every: int | None = None  # 503
    junk_json_every: int | None = None
    timeout_above_page_size: int | None = None  # 500 "timeout" for bigger pages
    refuse_credentials: bool = False  # 401 for everything
    # Resource ("/time/entries", "/service/surveys/{id}/questions") -> the 1-based numbers of
    # its requests that answer 500 "timeout" (a database timeout on that query).
    timeouts: dict[str, set[int]] = field(default_factory=dict)
    # Resource -> a status every request to it answers (404: a version without it; 403: a
    # security role without access), e.g. {"/company/companies/statuses": 404}.
    unavailable: dict[str, int] = field(default_factory=dict)
    # Collection -> record id -> fields replaced in that record (None: the field is absent),
    # e.g. {"/time/entries": {5: {"timeStart": None}}}: data broken at the source.
    broken_records: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)


@dataclass
class SimulatorBehaviour:
    """Choices where the real API is unconfirmed (reference §10); defaults are the likely ones."""

    oversize_page: Literal["cap", "reject"] = "cap"
    missing_client_id_status: Literal[401, 403] = 401
    forward_only_last_link: Literal["empty", "omit"] = "empty"
    # "supported" (2018.5 and later), "ignored" (older: pages the navigable way regardless),
    # "refused" (400 for the header).
    forward_only: Literal["supported", "ignored", "refused"] = "supported"
    # False: navigable pages come without their `Link` (a proxy that drops the header), so
    # a client cannot tell from the first page how many follow.
    navigable_link: bool = True
    accept_release_codebase: bool = True  # also serve /v4_6_release/ (on-premises style)
    # The PSA server's clock minus the true time: its `_info.lastUpdated` stamps, its
    # `lastUpdated` conditions and its `Date` headers follow it.
    clock_offset: timedelta = timedelta(0)


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


def error_response(status: int, code: str, message: str) -> Response:
    """An error in ConnectWise's `{code, message, errors}` shape."""
    return Response(status, {"code": code, "message": message, "errors": None})


class Pager:
    """Pages over collections for one simulator (its behaviour, faults and codebase)."""

    def __init__(
        self, behaviour: SimulatorBehaviour, faults: SimulatorFaults, codebase: str, origin: str
    ) -> None:
        self.behaviour = behaviour
        self.faults = faults
        self.codebase = codebase
        self.origin = origin  # scheme and host the client called, for Link URLs

    def matches(
        self,
        collection: Collection,
        params: dict[str, str],
        *,
        descending: bool = False,
        ids_only: bool = False,
    ) -> Iterator[tuple[int, Json]]:
        """`(position, record)` matching conditions and childConditions, in id order.

        Id bounds are bisected and `lastUpdated` bounds checked before rendering, so a page
        costs what it returns, not the size of the collection. `ids_only` yields `{"id": n}`
        without rendering when nothing else needs the record.
        """
        main = compile_conditions(params.get("conditions"))
        child = compile_conditions(params.get("childconditions"))
        ids = collection.ids()
        after = max(main.bounds.after, child.bounds.after)
        upto = min(main.bounds.upto, child.bounds.upto)
        start, stop = bisect_right(ids, after), bisect_right(ids, upto)
        positions = range(stop - 1, start - 1, -1) if descending else range(start, stop)
        changes = [check for check in (main.changed, child.changed) if check is not None]
        custom_text = params.get("customfieldconditions")
        custom = compile_conditions(custom_text) if custom_text else None
        plain = main.residual is None and child.residual is None and custom is None
        for position in positions:
            if collection.is_hidden(position):
                continue
            stamp = collection.stamp(position) if changes else None
            if stamp is not None and not all(check.admits(stamp) for check in changes):
                continue
            if ids_only and plain and (stamp is not None or not changes):
                yield position, {"id": ids[position]}
                continue
            record = collection.at(position)
            if record is None:
                continue
            if stamp is None and not all(check.predicate(record) for check in changes):
                continue
            if not (main.matches_rest(record) and child.matches_rest(record)):
                continue
            if custom is not None and not any(
                custom.matches(field) for field in record.get("customFields") or ()
            ):
                continue  # customFieldConditions: one custom field must match it all
            yield position, record

    def count(self, collection: Collection, params: dict[str, str], after_position: int) -> int:
        """Matches after `after_position`; counted without rendering when filters allow."""
        main = compile_conditions(params.get("conditions"))
        child = compile_conditions(params.get("childconditions"))
        ids = collection.ids()
        stop = bisect_right(ids, min(main.bounds.upto, child.bounds.upto))
        start = max(
            after_position + 1, bisect_right(ids, max(main.bounds.after, child.bounds.after))
        )
        plain = main.residual is None and child.residual is None
        if plain and not (main.changed or child.changed or params.get("customfieldconditions")):
            return collection.visible_count(start, stop)
        return sum(
            1
            for position, _ in self.matches(collection, params, ids_only=True)
            if position >= start
        )

    def list_page(
        self,
        collection: Collection,
        params: dict[str, str],
        headers: dict[str, str],
        resource: str,
        query: str,
    ) -> Response:
        try:
            page_size = int(params.get("pagesize") or DEFAULT_PAGE_SIZE)
            page = int(params.get("page") or 1)
        except ValueError:
            return error_response(400, "InvalidObject", "page and pageSize must be whole numbers.")
        if page_size > MAX_PAGE_SIZE:
            if self.behaviour.oversize_page == "reject":
                return error_response(
                    400, "InvalidObject", f"pageSize cannot exceed {MAX_PAGE_SIZE}."
                )
            page_size = MAX_PAGE_SIZE
        page_size, page = max(1, page_size), max(1, page)
        threshold = self.faults.timeout_above_page_size
        if threshold is not None and page_size > threshold:
            return error_response(
                500, "UnexpectedError", "Execution Timeout Expired. The timeout period elapsed."
            )
        forward_only = headers.get("pagination-type", "").lower() == "forward-only"
        if forward_only and self.behaviour.forward_only == "refused":
            return error_response(400, "InvalidObject", "pagination-type is not supported.")
        forward_only = forward_only and self.behaviour.forward_only == "supported"
        order = parse_order_by(params.get("orderby"))
        fields = params.get("fields")
        if forward_only:
            return self._forward_only(collection, params, page_size, order, resource, query)
        simple_order = not order or (len(order) == 1 and order[0].path.lower() == "id")
        descending = bool(order) and order[0].descending
        ids_only = bool(fields) and set(parse_fields(fields or "")) == {"id"}
        if simple_order:
            matches = self.matches(collection, params, descending=descending, ids_only=ids_only)
            skipped = 0
            while skipped < (page - 1) * page_size and next(matches, None) is not None:
                skipped += 1
            found = [item for _, item in zip(range(page_size), matches, strict=False)]
            records = [record for _, record in found]
            if descending or not found:
                rest = sum(1 for _ in matches)
            else:
                rest = self.count(collection, params, found[-1][0])
            total = skipped + len(records) + rest
        else:
            everything = sort_records(
                [record for _, record in self.matches(collection, params)], order
            )
            total = len(everything)
            records = everything[(page - 1) * page_size : page * page_size]
        if fields:
            tree = parse_fields(fields)
            records = [project(record, tree) for record in records]
        last_page = max(1, -(-total // page_size))
        links = [("first", 1)]
        if page > 1:
            links.append(("prev", min(page - 1, last_page)))
        if page < last_page:
            links.append(("next", page + 1))
        links.append(("last", last_page))
        link = ", ".join(
            f'<{self._link(resource, query, page=number)}>; rel="{rel}"' for rel, number in links
        )
        headers = {"api-current-version": API_VERSION}
        if self.behaviour.navigable_link:
            headers["Link"] = link
        return Response(200, records, headers)

    def _forward_only(
        self,
        collection: Collection,
        params: dict[str, str],
        page_size: int,
        order: tuple[Any, ...],
        resource: str,
        query: str,
    ) -> Response:
        if order:
            return error_response(
                400, "InvalidObject", "orderBy cannot be used with forward-only paging."
            )
        if resource.lower() == "/system/audittrail":
            return error_response(
                400, "InvalidObject", "Forward-only paging is not supported here."
            )
        page_id = int(params.get("pageid") or 0)
        extra = {**params, "conditions": _and(params.get("conditions"), f"id > {page_id}")}
        matches = self.matches(collection, extra)
        found = [item for _, item in zip(range(page_size), matches, strict=False)]
        records = [record for _, record in found]
        more = next(matches, None) is not None
        if params.get("fields"):
            tree = parse_fields(params["fields"])
            records = [project(record, tree) for record in records]
        headers = {"api-current-version": API_VERSION}
        if more and records:
            # The server's own id, even when the record it renders has lost it.
            url = self._link(resource, query, page_id=collection.ids()[found[-1][0]])
            headers["Link"] = f'<{url}>; rel="next"'
        elif self.behaviour.forward_only_last_link == "empty":
            headers["Link"] = ""
        return Response(200, records, headers)

    def _link(self, resource: str, query: str, **replace: int) -> str:
        pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)]
        names = {"page": "page", "page_id": "pageId"}
        for key, value in replace.items():
            name = names[key]
            pairs = [(k, v) for k, v in pairs if k.lower() != name.lower()] + [(name, str(value))]
        return f"{self.origin}/{self.codebase}/apis/3.0{resource}?{urlencode(pairs)}"


def _and(first: str | None, second: str) -> str:
    return second if not first else f"({first}) and {second}"
