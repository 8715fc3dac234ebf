"""Which key a page request is signed in with: the cookie set by the sign-in form.

A page answers its sign-in form when there is no key (200) or it is no longer valid (401,
and the cookie is forgotten), and 429 while the address is throttled for wrong keys."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.api.deps import COOKIE_NAME, Unauthorized, authenticate
from app.api.throttle import TooManyFailedKeys
from app.security.models import ApiKey
from app.web.render import login_page


def throttled(refused: TooManyFailedKeys) -> HTMLResponse:
    return HTMLResponse(
        login_page(f"Too many wrong keys from your address: try again in {refused.retry_after} s."),
        status_code=429,
        headers=refused.headers,
    )


def signed_in(request: Request, session: Session) -> ApiKey | HTMLResponse:
    """The key in the page's cookie, or the page to answer instead: the sign-in form
    (200, as any page a browser opens before signing in), or 401 for a key no longer valid."""
    key = request.cookies.get(COOKIE_NAME)
    if not key:
        return HTMLResponse(login_page())
    try:
        return authenticate(session, key, request=request, sent_as="cookie")
    except TooManyFailedKeys as refused:
        return throttled(refused)
    except Unauthorized:
        # A revoked key: forget it, so the browser stops sending it.
        page = HTMLResponse(login_page("Your key is no longer valid."), status_code=401)
        page.delete_cookie(COOKIE_NAME)
        return page
