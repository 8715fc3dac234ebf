"""The pages' side of people: who a page request is signed in as, the forms it may post,
and the session cookie.

A page is signed in by the session cookie (`northstar_session`, set by the e-mail and
password form), or else by the older API-key cookie, which makes a read-only `Person`
(role viewer, named "API key <name>"). Every form carries `csrf_token`, derived from the
cookie's secret (app.people.sessions.csrf_token_for); `check_form` refuses a post whose
token is missing or not this browser's, and a person whose role is not enough.

The session cookie is SameSite=Lax: a link to a Northstar page in an e-mail or a Teams
message opens it signed in (a Strict cookie is not sent on such a visit), while a form
posted from another site carries no cookie, and would fail its CSRF check anyway.

A person whose password is temporary (a one-time password from the People page) may use
only `/account` until they choose their own there: every other page sends them to it
(303), and every other form post is refused (403). Signing out (`POST /logout`) does not
ask who is signed in, so it always works; the API and its keys are not concerned.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.api.deps import COOKIE_NAME, Unauthorized, authenticate
from app.api.throttle import TooManyFailedKeys
from app.errors import NorthstarError
from app.people.models import User
from app.people.principal import Person, Role
from app.people.sessions import SESSION_COOKIE, SessionState, csrf_token_for, person_for_token
from app.settings import Settings
from app.web.render import error_page, header, login_page
from app.web.render import page as document

CSRF_FIELD = "csrf_token"
MAX_FORM_FIELDS = 200

RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}
WHO_MAY = {Role.EDITOR: "an editor or an owner", Role.OWNER: "an owner", Role.VIEWER: "anyone"}
WHAT = {Role.EDITOR: "change the plan", Role.OWNER: "change this", Role.VIEWER: "do this"}
ARTICLE = {Role.OWNER: "an owner", Role.EDITOR: "an editor", Role.VIEWER: "a viewer"}
# The one page a person with a temporary password may use: where they choose their own.
ACCOUNT_PAGE = "/account"


class FormProblem(NorthstarError):
    """A form post that cannot be read."""

    status_code = 400
    code = "form_invalid"


class FormTooLarge(FormProblem):
    status_code = 413
    code = "form_too_large"


class FormNotAllowed(NorthstarError):
    """A form post refused: its CSRF token, or the person's role."""

    status_code = 403
    code = "forbidden"


def cookie_is_secure(request: Request, settings: Settings) -> bool:
    # Behind a TLS-terminating proxy the request itself may say http.
    return request.url.scheme == "https" or (settings.public_base_url or "").startswith("https://")


def set_session_cookie(
    response: Response, token: str, request: Request, settings: Settings
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_max_days * 86400),
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request, settings),
    )


def forget_cookies(response: Response) -> None:
    """Delete both sign-in cookies (the session's and the older API key's)."""
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="strict")


def throttled_page(message: str, retry_after: int) -> HTMLResponse:
    return HTMLResponse(
        login_page(message), status_code=429, headers={"Retry-After": str(retry_after)}
    )


def _page_path(request: Request) -> str:
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def _password_is_temporary(session: Session, person: Person) -> bool:
    # The session's lookup has just loaded this person: this is no second query.
    user = session.get(User, person.user_id) if person.user_id is not None else None
    return user is not None and user.password_is_temporary


def own_password_first(request: Request, person: Person) -> HTMLResponse:
    """What a person with a temporary password gets for any page but `/account`: sent
    there (303) when opening a page, a 403 page when posting a form."""
    if request.method in ("GET", "HEAD"):
        return HTMLResponse(
            document(
                "Northstar: choose your own password",
                f"<main><p><a href='{ACCOUNT_PAGE}'>Choose your own password on My "
                "account</a> first.</p></main>",
            ),
            status_code=303,
            headers={"Location": ACCOUNT_PAGE, "Cache-Control": "no-store"},
        )
    title = "Choose your own password first"
    return HTMLResponse(
        document(
            f"Northstar: {title}",
            header(title, person=person) + "<main><section class='problem'>"
            f"<h2>{title}</h2><p>You signed in with a one-time password that someone gave "
            "you. Choose your own password on "
            f"<a href='{ACCOUNT_PAGE}'>My account</a> first; until then nothing else "
            "can be changed, and nothing was changed now.</p></section></main>",
        ),
        status_code=403,
    )


def signed_in_person(request: Request, session: Session) -> Person | HTMLResponse:
    """The person a page request is signed in as, or the page to answer instead: the
    sign-in form (200 when not signed in; 401, with the cookie deleted, when the session
    has expired or was ended; 429 while the address is throttled for wrong keys), or, for
    a person whose password is temporary, `own_password_first` on any page but `/account`."""
    settings: Settings = request.app.state.context.settings
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        found = person_for_token(session, token, settings=settings)
        if isinstance(found, Person):
            if _page_path(request) != ACCOUNT_PAGE and _password_is_temporary(session, found):
                return own_password_first(request, found)
            return found
        reason = (
            "Your sign-in has expired: sign in again."
            if found is SessionState.EXPIRED
            else "You were signed out: sign in again."
        )
        page = HTMLResponse(login_page(reason), status_code=401)
        page.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return page
    key = request.cookies.get(COOKIE_NAME)
    if not key:
        return HTMLResponse(login_page())
    try:
        row = authenticate(session, key, request=request, sent_as="cookie")
    except TooManyFailedKeys as refused:
        return throttled_page(
            f"Too many wrong keys from your address: try again in {refused.retry_after} s.",
            refused.retry_after,
        )
    except Unauthorized:
        # A revoked key: forget it, so the browser stops sending it.
        page = HTMLResponse(login_page("Your key is no longer valid."), status_code=401)
        page.delete_cookie(COOKIE_NAME, httponly=True, samesite="strict")
        return page
    return Person(
        name=f"API key {row.name}", role=Role.VIEWER, user_id=None, csrf_token=csrf_token_for(key)
    )


async def read_form(request: Request, max_bytes: int = 64 * 1024) -> dict[str, str]:
    """The fields of an `application/x-www-form-urlencoded` post; for a field sent twice,
    the last value. Raises `FormTooLarge` (413) past `max_bytes` (the rest is not read)
    and `FormProblem` (400) for another kind of body or one that does not parse."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormProblem(
            "This address takes the fields of a form (application/x-www-form-urlencoded), "
            "as Northstar's pages send them.",
            code="form_not_urlencoded",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise FormTooLarge(
                f"The form is larger than {max_bytes // 1024} KiB; shorten what you wrote.",
                code="form_too_large",
            )
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormProblem(
            "The form could not be read (not UTF-8, or too many fields).", code="form_invalid"
        ) from None
    return dict(pairs)


def check_form(
    person: Person,
    form: Mapping[str, str],
    *,
    need: Role = Role.EDITOR,
    action: str | None = None,
) -> None:
    """Raise `FormNotAllowed` (403) unless the form carries this browser's CSRF token
    (`csrf_token_invalid`) and `person` has at least the role `need` (`role_required`;
    `action` words what the form does, e.g. "record a story")."""
    sent = form.get(CSRF_FIELD, "")
    if not sent or not hmac.compare_digest(sent.encode(), person.csrf_token.encode()):
        raise FormNotAllowed(
            "This form did not come from your Northstar page, or the page is older than "
            "your sign-in. Open the page again and send the form from there.",
            code="csrf_token_invalid",
        )
    if RANK[person.role] < RANK[need]:
        doing = action or WHAT[need]
        raise FormNotAllowed(
            f"Only {WHO_MAY[need]} can {doing}; you are signed in as {ARTICLE[person.role]}.",
            code="role_required",
        )


def forbidden_page(error: NorthstarError) -> HTMLResponse:
    """The page that answers a form refused by `check_form`, with its status (403)."""
    return HTMLResponse(error_page("Not allowed", error.message), status_code=error.status_code)
