"""`/odata`: the OData v4 feed (read-only) for Power BI and Excel.

Every response carries `OData-Version: 4.0`; every error is `{"error": {"code", "message"}}`.
A read API key is needed, sent as `Authorization: Bearer`, `X-API-Key`, or the `api_key`
query parameter (Power BI's service can only send a key that way). Links in the feed
(`@odata.context`, `@odata.nextLink`) start with the configured public address (see
app.api.public_url) and never carry the key: a client that sends it as a query parameter
adds it to every request itself, as Power BI does.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyQuery
from sqlalchemy import ColumnElement, and_, false
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.deps import KEY_QUERY_PARAM, api_key_header, authenticate_request, bearer
from app.api.public_url import link_base
from app.api.throttle import TooManyFailedKeys
from app.bi.odata.csdl import metadata_xml, service_document
from app.bi.odata.entities import ENTITY_SETS, EntitySet, Reading
from app.bi.odata.errors import ODataError
from app.bi.odata.navigation import (
    find,
    follow_condition,
    navigation,
    one_row,
    parse_segment,
)
from app.bi.odata.query import Options, build_select, count_select, parse_options
from app.errors import NorthstarError
from app.logging import secrets_registry

KEY_PARAM = KEY_QUERY_PARAM
api_key_query = APIKeyQuery(
    name=KEY_PARAM,
    auto_error=False,
    description="An API key as a query parameter (for Power BI's 'Web API' credential).",
)
# Declared for OpenAPI only (they never refuse): the key is checked in `_check_key`, so a
# missing or wrong key is answered in the OData error format.
router = APIRouter(
    prefix="/odata",
    tags=["odata"],
    dependencies=[Security(bearer), Security(api_key_header), Security(api_key_query)],
)
log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # rows per page; a client may ask for fewer with Prefer: odata.maxpagesize
HEADERS = {"OData-Version": "4.0"}
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true"
_PAGING = ("$skip", "$top", "$skiptoken")


class ThrottledKeys(ODataError):
    """A 429 in the feed's error format, with the API's `Retry-After`."""

    def __init__(self, refused: TooManyFailedKeys) -> None:
        super().__init__(429, refused.code, refused.message)
        self.headers = refused.headers


def _error(error: ODataError) -> JSONResponse:
    extra: dict[str, str] = getattr(error, "headers", {})
    return JSONResponse(error.body(), status_code=error.status, headers={**HEADERS, **extra})


def _json(content: dict[str, Any], extra: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(content, headers={**HEADERS, **(extra or {})}, media_type=JSON_TYPE)


def _base(request: Request) -> str:
    context: ServiceContext = request.app.state.context
    return link_base(request, context.settings) + router.prefix


def _check_key(context: ServiceContext, request: Request) -> None:
    with context.db.session() as session:
        try:
            _key, presented = authenticate_request(session, request, cookie=False, query=True)
        except TooManyFailedKeys as exc:
            raise ThrottledKeys(exc) from None
        except NorthstarError as exc:
            if exc.code == "api_key_missing":
                raise ODataError(
                    401,
                    exc.code,
                    "This feed needs an API key: in Power BI choose 'Web API' and paste the "
                    f"key (it is sent as the '{KEY_PARAM}' query parameter), or send it as "
                    "'Authorization: Bearer <key>' or 'X-API-Key'. Create one with "
                    "`northstar apikey create`.",
                ) from None
            raise ODataError(401, exc.code, exc.message) from None
    key = presented.value
    if presented.sent_as == "query":
        # Access logs print the query string: a valid key sent there is masked from now on.
        # (Only valid keys are registered, so a caller cannot mask arbitrary log text.)
        secrets_registry.add(key)


def _guarded(request: Request, answer: Any) -> Response:
    """Authenticate, then run `answer()`; every failure becomes an OData error."""
    try:
        _check_key(request.app.state.context, request)
        result: Response = answer()
        return result
    except ODataError as error:
        return _error(error)
    except Exception:
        log.exception("odata request failed")
        return _error(
            ODataError(500, "internal_error", "The feed failed to answer; see the server log.")
        )


def _entity_set(name: str) -> EntitySet:
    declared = ENTITY_SETS.get(name)
    if declared is None:
        raise ODataError(
            404,
            "unknown_entity_set",
            f"There is no entity set '{name}'. Entity sets: {', '.join(ENTITY_SETS)}.",
        )
    return declared


def _bound(context: ServiceContext, session: Session, name: str) -> EntitySet:
    """The set called `name`, ready to query in `session` (see `EntitySet.bound`)."""
    tz = context.settings.tz
    return _entity_set(name).bound(Reading(session, tz, datetime.now(tz).date()))


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _page_size(request: Request) -> tuple[int, dict[str, str]]:
    for part in request.headers.get("prefer", "").split(","):
        name, _, raw = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and raw.strip().isdigit():
            size = max(1, min(int(raw.strip()), PAGE_SIZE))
            return size, {"Preference-Applied": f"odata.maxpagesize={size}"}
    return PAGE_SIZE, {}


def _next_link(request: Request, options: Options, returned: int) -> str:
    """The URL of the next page: the same options, with `$skip` (and `$top`) moved on, and
    without the key."""
    dropped = {*_PAGING, KEY_PARAM}
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in dropped]
    items.append(("$skip", str(options.skip + returned)))
    if options.top is not None:
        items.append(("$top", str(options.top - returned)))
    query = urlencode(items, quote_via=quote, safe="$,'():")
    path = request.url.path.removeprefix(request.scope.get("root_path", "")).removeprefix(
        router.prefix
    )
    return f"{_base(request)}{path}?{query}"


@router.get("", include_in_schema=False)
@router.get("/", summary="OData service document")
def service(request: Request) -> Response:
    """The entity sets of the feed (JSON)."""
    return _guarded(request, lambda: _json(service_document(_base(request))))


@router.get("/$metadata", summary="OData metadata (CSDL XML)")
def metadata(request: Request) -> Response:
    """Entity types, keys and EDM types of every set, as CSDL XML."""
    return _guarded(
        request, lambda: Response(metadata_xml(), media_type="application/xml", headers=HEADERS)
    )


def _entity(request: Request, body: dict[str, Any], set_name: str) -> Response:
    context = {"@odata.context": f"{_base(request)}/$metadata#{set_name}/$entity"}
    return _json({**context, **{n: _value(v) for n, v in body.items()}})


def _rows(
    request: Request,
    session: Session,
    declared: EntitySet,
    condition: ColumnElement[bool] | None = None,
) -> Response:
    """A page of `declared`'s rows (within `condition`), as the query options say;
    `@odata.nextLink` points at the next page while rows remain."""
    options = parse_options(declared, request.query_params)
    if condition is not None:
        both = condition if options.filter is None else and_(condition, options.filter)
        options = replace(options, filter=both)
    size, applied = _page_size(request)
    wanted = size if options.top is None else min(size, options.top)
    statement = build_select(declared, options).offset(options.skip).limit(wanted + 1)
    rows = session.execute(statement).all()
    total = session.execute(count_select(declared, options)).scalar_one() if options.count else None
    page = rows[:wanted]
    names = [p.name for p in options.select]
    select_part = f"({','.join(names)})" if options.select != declared.props else ""
    body: dict[str, Any] = {
        "@odata.context": f"{_base(request)}/$metadata#{declared.name}{select_part}"
    }
    if total is not None:
        body["@odata.count"] = total
    body["value"] = [{n: _value(v) for n, v in zip(names, row, strict=True)} for row in page]
    more = len(rows) > wanted and (options.top is None or options.top > len(page))
    if more:
        body["@odata.nextLink"] = _next_link(request, options, len(page))
    return _json(body, applied)


@router.get("/{name}", summary="Rows of one OData entity set, or one entity by key")
def entity_set(name: str, request: Request) -> Response:
    """Rows of `name`, filtered, sorted, selected and paged as the query options say;
    `@odata.nextLink` points at the next page while rows remain. `Tickets(42)` is the one
    ticket with Id 42 (`Kpis('mrr')` for a text key)."""

    def answer() -> Response:
        address = parse_segment(name)
        context: ServiceContext = request.app.state.context
        with context.db.session() as session:
            declared = _bound(context, session, address.set_name)
            if address.key is None:
                return _rows(request, session, declared)
            parse_options(declared, request.query_params)  # refuse what it cannot honour
            return _entity(request, find(session, declared, address.key), declared.name)

    return _guarded(request, answer)


@router.get("/{name}/$count", summary="Number of rows of one OData entity set")
def entity_count(name: str, request: Request) -> Response:
    """The number of rows matching `$filter`, as plain text (OData's `/$count` segment)."""

    def answer() -> Response:
        context: ServiceContext = request.app.state.context
        with context.db.session() as session:
            declared = _bound(context, session, name)
            options = parse_options(declared, request.query_params)
            total = session.execute(count_select(declared, options)).scalar_one()
        return Response(str(total), media_type="text/plain", headers=HEADERS)

    return _guarded(request, answer)


@router.get("/{name:path}/{nav}", summary="Follow a navigation property of one entity")
def follow(name: str, nav: str, request: Request) -> Response:
    """`Tickets(42)/Client`: the entity (or for a collection, the rows) that one entity's
    navigation property leads to; 204 when it refers to nothing."""

    def answer() -> Response:
        address = parse_segment(name)
        if address.key is None:
            raise ODataError(
                404,
                "not_found",
                f"'/odata/{name}/{nav}': address one entity first, e.g. /odata/{name}(1)/{nav}.",
            )
        context: ServiceContext = request.app.state.context
        with context.db.session() as session:
            source = _bound(context, session, address.set_name)
            step = navigation(source, nav)
            row = find(session, source, address.key)
            target = _bound(context, session, step.target)
            condition = follow_condition(step, target, row)
            if step.collection:
                return _rows(
                    request, session, target, condition if condition is not None else false()
                )
            parse_options(target, request.query_params)
            found = None if condition is None else one_row(session, target, condition)
            if found is None:
                return Response(status_code=204, headers=HEADERS)
            return _entity(request, found, target.name)

    return _guarded(request, answer)


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
def elsewhere(rest: str, request: Request) -> Response:
    """Anything else under /odata, for a read key: a 405 for writes (the feed is
    read-only), else a 404."""

    def answer() -> Response:
        if request.method != "GET":
            raise ODataError(405, "read_only", "The OData feed is read-only.")
        raise ODataError(
            404,
            "not_found",
            f"'/odata/{rest}' is not part of the feed: it serves $metadata and the entity "
            f"sets {', '.join(ENTITY_SETS)}, single entities by key (Tickets(1)) and their "
            "navigation properties (Tickets(1)/Client).",
        )

    return _guarded(request, answer)
