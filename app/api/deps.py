"""FastAPI dependencies: the service context, a database session, and API-key checks.

Reads also accept a person signed in on the pages (the session cookie, app.people), so the
pages' links open in the browser; changes always need an API key sent in a header.

Keys are checked in one place, `authenticate`, whichever way they came (header, cookie,
OData's query parameter, the sign-in form): wrong keys are counted per client address and
logged (never the key), and an address that sent too many is refused with 429.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Literal

import anyio
import structlog
from fastapi import Depends, Request, Security
from fastapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBearer,
)
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.throttle import client_address, throttle_for
from app.errors import NorthstarError
from app.people.models import User
from app.people.principal import Person
from app.people.sessions import SESSION_COOKIE, person_for_token
from app.security.apikeys import find_active_key
from app.security.models import ApiKey, KeyScope

log = structlog.get_logger(__name__)

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer ns_...`")
COOKIE_NAME = "northstar_key"
api_key_cookie = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="Set by the scorecard page's login form."
)
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key in the X-API-Key header."
)
KEY_QUERY_PARAM = "api_key"  # OData only: Power BI's service can send a key no other way

SentAs = Literal["bearer", "x-api-key", "cookie", "query", "form"]


class Unauthorized(NorthstarError):
    status_code = 401
    code = "unauthorized"


class Forbidden(NorthstarError):
    status_code = 403
    code = "forbidden"


@dataclass(frozen=True, slots=True)
class PresentedKey:
    value: str
    sent_as: SentAs


def get_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


ContextDep = Annotated[ServiceContext, Depends(get_context)]


async def get_session(context: ContextDep) -> AsyncIterator[Session]:
    """The request's session: committed once the endpoint has returned and its answer is
    serialised, before it is sent (rolled back if the endpoint raised), then closed.

    Made on the event loop: it takes a connection only at its first query. The commit and
    the close run in a worker thread of their own, so giving a connection back never waits
    for a thread busy with a request that is waiting for a connection."""
    session = context.db.sessions()
    try:
        yield session
    except BaseException:
        await _end_session(session, commit=False)
        raise
    await _end_session(session, commit=True)


async def _end_session(session: Session, *, commit: bool) -> None:
    def end() -> None:
        try:
            if commit:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()

    # A limiter per call: this thread never waits for the shared thread pool's tokens.
    await anyio.to_thread.run_sync(end, limiter=anyio.CapacityLimiter(1))


# scope="function": the session ends before the response is sent, so a client that has its
# answer finds what it wrote committed (the default ends it after the response).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def key_in_request(
    request: Request, *, cookie: bool = True, query: bool = False
) -> PresentedKey | None:
    """The key a request carries, looked for as the API's security schemes do:
    `Authorization: Bearer`, then `X-API-Key`, then (when allowed) the `api_key` query
    parameter and the scorecard page's cookie. None when there is none."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return PresentedKey(credentials.strip(), "bearer")
    if header := request.headers.get("x-api-key"):
        return PresentedKey(header, "x-api-key")
    if query and (in_query := request.query_params.get(KEY_QUERY_PARAM)):
        return PresentedKey(in_query, "query")
    if cookie and (in_cookie := request.cookies.get(COOKIE_NAME)):
        return PresentedKey(in_cookie, "cookie")
    return None


def _missing_key(request: Request | None = None) -> Unauthorized:
    authorization = request.headers.get("authorization", "").strip() if request else ""
    if authorization:
        # Sent, but not as `Bearer <key>`: most often the key alone, without the word.
        return Unauthorized(
            "The Authorization header must read `Bearer <key>`: put `Bearer ` (with a "
            "space) before the key, or send the key alone in the `X-API-Key` header.",
            code="authorization_not_bearer",
        )
    return Unauthorized(
        "This needs an API key: send it as `Authorization: Bearer <key>` or `X-API-Key`. "
        "Create one with `northstar apikey create`.",
        code="api_key_missing",
    )


def authenticate(
    session: Session,
    key: str | None,
    *,
    request: Request | None = None,
    sent_as: SentAs = "bearer",
) -> ApiKey:
    """The active key `key` names. Raises `Unauthorized` for no key or a wrong one, and
    (given the request) `TooManyFailedKeys` while the client's address is throttled."""
    if not key:
        raise _missing_key()
    throttle = throttle_for(request.app) if request is not None else None
    client = client_address(request.scope) if request is not None else "unknown"
    if throttle is not None:
        throttle.refuse_if_blocked(client)
    row = find_active_key(session, key)
    if row is None:
        if throttle is not None and request is not None:
            failures = throttle.record_failure(client)
            log.warning(
                "api_key_refused",
                client=client,
                sent_as=sent_as,
                path=request.url.path,
                failures_in_window=failures,
                throttled_from_now=failures >= throttle.limit,
            )
        raise Unauthorized(
            "This API key is not valid (unknown or revoked). Create a new one with "
            "`northstar apikey create`.",
            code="api_key_invalid",
        )
    return row


def authenticate_request(
    session: Session, request: Request, *, cookie: bool = True, query: bool = False
) -> tuple[ApiKey, PresentedKey]:
    """The active key a request carries, and how it came (see `key_in_request`)."""
    presented = key_in_request(request, cookie=cookie, query=query)
    if presented is None:
        raise _missing_key(request)
    key = authenticate(session, presented.value, request=request, sent_as=presented.sent_as)
    return key, presented


def check_admin(key: ApiKey, presented: PresentedKey) -> None:
    """Raise `Forbidden` unless `key` may change things and was sent on purpose."""
    if presented.sent_as == "cookie":
        # A cookie is sent by the browser on its own; changes need the key sent on purpose.
        raise Forbidden(
            "Changes need the API key in the `Authorization` or `X-API-Key` header.",
            code="api_key_header_required",
        )
    if key.scope != KeyScope.ADMIN:
        raise Forbidden(
            "This API key can only read. Changes need a key created with `--scope admin`.",
            code="admin_key_required",
        )


def person_from_session(request: Request, session: Session) -> Person | None:
    """The person signed in on the pages, by the session cookie; None without one, or
    when it has ended or expired (the pages say which, app.people.web)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    context: ServiceContext = request.app.state.context
    found = person_for_token(session, token, settings=context.settings)
    if not isinstance(found, Person):
        return None
    user = session.get(User, found.user_id) if found.user_id is not None else None
    if user is not None and user.password_is_temporary:
        raise Forbidden(
            "You signed in with a one-time password: choose your own on My account "
            "(/account) first. Until then your sign-in opens only that page.",
            code="own_password_first",
        )
    return found


# The Security parameters declare the schemes in OpenAPI; the key itself is read by
# `key_in_request`, the same function the key-first gate (app.api.auth_gate) uses.
def require_read(
    request: Request,
    session: SessionDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    _header: Annotated[str | None, Security(api_key_header)],
    _cookie: Annotated[str | None, Security(api_key_cookie)],
) -> ApiKey | Person:
    """The caller of a read: an API key (header, or the pages' key cookie), or a person
    signed in on the pages, so that the pages' links (reviews, CSV) open in the browser.
    A key in a header wins over the cookies."""
    if key_in_request(request, cookie=False) is None:
        person = person_from_session(request, session)
        if person is not None:
            return person
    return authenticate_request(session, request)[0]


def require_admin(
    request: Request, caller: Annotated[ApiKey | Person, Depends(require_read)]
) -> ApiKey:
    if isinstance(caller, Person):
        # A browser sends its cookies on its own: changes need a key sent on purpose.
        raise Forbidden(
            "Changes through the API need an admin API key in the `Authorization` or "
            "`X-API-Key` header; being signed in on the pages lets the API read only.",
            code="api_key_header_required",
        )
    presented = key_in_request(request)
    if presented is None:  # not reached: require_read refuses a request without a key
        raise _missing_key()
    check_admin(caller, presented)
    return caller


ReadKey = Annotated[ApiKey | Person, Depends(require_read)]
AdminKey = Annotated[ApiKey, Depends(require_admin)]
