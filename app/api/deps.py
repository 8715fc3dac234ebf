"""FastAPI dependencies: the service context, a database session, and API-key checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBearer,
)
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.errors import NorthstarError
from app.security.apikeys import find_active_key
from app.security.models import ApiKey, KeyScope

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer ns_...`")
COOKIE_NAME = "northstar_key"
api_key_cookie = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="Set by the scorecard page's login form."
)
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key in the X-API-Key header."
)


class Unauthorized(NorthstarError):
    status_code = 401
    code = "unauthorized"


class Forbidden(NorthstarError):
    status_code = 403
    code = "forbidden"


def get_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    with context.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def presented_key(
    bearer_credentials: HTTPAuthorizationCredentials | None, header_key: str | None
) -> str | None:
    if bearer_credentials is not None and bearer_credentials.credentials:
        return bearer_credentials.credentials
    return header_key or None


def authenticate(session: Session, key: str | None) -> ApiKey:
    if not key:
        raise Unauthorized(
            "This needs an API key: send it as `Authorization: Bearer <key>` or `X-API-Key`. "
            "Create one with `northstar apikey create`.",
            code="api_key_missing",
        )
    row = find_active_key(session, key)
    if row is None:
        raise Unauthorized(
            "This API key is not valid (unknown or revoked). Create a new one with "
            "`northstar apikey create`.",
            code="api_key_invalid",
        )
    return row


def require_read(
    session: SessionDep,
    bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    header_key: Annotated[str | None, Security(api_key_header)],
    cookie_key: Annotated[str | None, Security(api_key_cookie)],
) -> ApiKey:
    # The scorecard page's login cookie lets its links (reviews, CSV) open in the browser.
    return authenticate(session, presented_key(bearer_credentials, header_key) or cookie_key)


def require_admin(
    key: Annotated[ApiKey, Depends(require_read)],
    bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    header_key: Annotated[str | None, Security(api_key_header)],
) -> ApiKey:
    if presented_key(bearer_credentials, header_key) is None:
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
    return key


ReadKey = Annotated[ApiKey, Depends(require_read)]
AdminKey = Annotated[ApiKey, Depends(require_admin)]
