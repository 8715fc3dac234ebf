"""`/`: the overview (the owner's scorecard); `POST /login` and `POST /logout`: a person's
e-mail address and password (a session, app.people), or an API key kept in a cookie (read
only). The other pages are in app.web.pages.

Signing in and out must come from Northstar's own page: a form posted from another site is
refused (its `Origin`, or `Sec-Fetch-Site`, says where it came from), so no third party can
sign a browser in as someone of its choosing. Wrong keys and passwords count against the
address's failures like any other (app.api.throttle).
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.api.context import ServiceContext
from app.api.deps import COOKIE_NAME, ContextDep, SessionDep, Unauthorized, authenticate
from app.api.public_url import own_origins
from app.api.throttle import TooManyFailedKeys, client_address
from app.errors import InvalidInput, NorthstarError
from app.goals.config import get_thresholds
from app.goals.evaluate import AlignmentEngine
from app.goals.scorecard import scorecard, source_histories
from app.kpis.periods import previous_quarter
from app.people.sessions import SESSION_COOKIE, revoke_session, start_session
from app.people.signin import SignInRefused, SignInThrottled, sign_in_with_password
from app.people.web import (
    FormProblem,
    FormTooLarge,
    cookie_is_secure,
    forget_cookies,
    read_form,
    set_session_cookie,
    signed_in_person,
    throttled_page,
)
from app.web.data import source_states
from app.web.kpi_pages import day_param
from app.web.overview import overview_page
from app.web.pages import problem_page
from app.web.pages import router as pages_router
from app.web.planning.recent import recent
from app.web.planning.router import router as planning_router
from app.web.render import login_page

router = APIRouter(include_in_schema=False)
router.include_router(pages_router)
router.include_router(planning_router)

OVERVIEW_PERIODS = 12  # the periods each goal's chart shows

COOKIE_DAYS = 30
MAX_FORM_BYTES = 4096  # an e-mail address and a password, or a key of about 50 characters
SAME_SITE_FETCHES = {"same-origin", "none"}  # `none`: typed in or bookmarked


def from_own_page(request: Request, context: ServiceContext) -> bool:
    """Whether a form post came from Northstar's own pages. Browsers say where a request
    comes from in `Sec-Fetch-Site` (which no page can forge) or, older ones, in `Origin`
    (`null` when the sending page hides it). A request naming neither is not a browser's
    and cannot carry a victim's cookie, so it may pass."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.lower() in SAME_SITE_FETCHES
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() in own_origins(request, context.settings)


def _not_from_own_page() -> HTMLResponse:
    return HTMLResponse(
        login_page(
            "This sign-in did not come from Northstar's own page, so it was refused. Open "
            "Northstar's address and sign in there."
        ),
        status_code=403,
    )


@router.get("/", response_class=HTMLResponse)
def overview_view(request: Request, session: SessionDep, context: ContextDep) -> Response:
    """The plan in one screen, the verdicts as `/api/v1/alignment` gives them."""
    person = signed_in_person(request, session)
    if isinstance(person, Response):
        return person
    today = datetime.now(context.settings.tz).date()
    try:
        day = overview_day(request, today)
    except NorthstarError as error:
        return problem_page(error)
    engine = AlignmentEngine(session, thresholds=get_thresholds(), tz=context.settings.tz)
    objectives = scorecard(engine, day, sparkline=OVERVIEW_PERIODS)
    sources = source_states(context, source_histories(engine))
    return HTMLResponse(
        overview_page(
            objectives,
            day,
            previous_quarter(day),
            sources,
            person=person,
            found=recent(session, day),
        )
    )


def overview_day(request: Request, today: date) -> date:
    """`?as_of=YYYY-MM-DD`: the plan as it stood that day (default today); never later."""
    day = day_param(request.query_params, "as_of") or today
    if day > today:
        raise InvalidInput(
            f"`as_of` ({day}) is in the future; the overview looks at today ({today}) or back.",
            code="as_of_in_future",
        )
    return day


@router.post("/login")
async def login(request: Request, context: ContextDep) -> Response:
    """The sign-in form's post: an e-mail address and a password, or (the second form)
    an API key, which signs in read only."""
    if not from_own_page(request, context):
        return _not_from_own_page()
    try:
        form = await read_form(request, max_bytes=MAX_FORM_BYTES)
    except FormTooLarge as problem:
        return HTMLResponse(
            login_page("That is too long to be an e-mail address and password, or an API key."),
            status_code=problem.status_code,
        )
    except FormProblem as problem:
        return HTMLResponse(login_page(problem.message), status_code=problem.status_code)
    email = form.get("email", "").strip()
    if "api_key" in form and not email:
        key = form["api_key"].strip()
        if not key:
            return HTMLResponse(login_page("Paste an API key first."), status_code=401)
        return await run_in_threadpool(_sign_in_with_key, request, context, key)
    password = form.get("password", "")
    if not email or not password:
        return HTMLResponse(
            login_page("Type your e-mail address and your password.", email=email),
            status_code=401,
        )
    return await run_in_threadpool(_sign_in_with_password, request, context, email, password)


def _sign_in_with_password(
    request: Request, context: ServiceContext, email: str, password: str
) -> Response:
    try:
        with context.db.session() as session:
            user = sign_in_with_password(session, request, email, password)
            token = start_session(
                session,
                user,
                settings=context.settings,
                client=client_address(request.scope),
                user_agent=request.headers.get("user-agent"),
            )
            # Given a one-time password: straight to where they choose their own.
            landing = "/account" if user.password_is_temporary else "/"
    except SignInThrottled as refused:
        return throttled_page(refused.message, refused.retry_after)
    except SignInRefused as refused:
        return HTMLResponse(login_page(refused.message, email=email), status_code=401)
    response = RedirectResponse(landing, status_code=303)
    set_session_cookie(response, token, request, context.settings)
    # One way in at a time: a key signed in earlier in this browser is forgotten.
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="strict")
    return response


def _sign_in_with_key(request: Request, context: ServiceContext, key: str) -> Response:
    try:
        with context.db.session() as session:
            authenticate(session, key, request=request, sent_as="form")
    except TooManyFailedKeys as refused:
        return throttled_page(
            f"Too many wrong keys from your address: try again in {refused.retry_after} s.",
            refused.retry_after,
        )
    except Unauthorized:
        return HTMLResponse(
            login_page("That key is not valid (unknown or revoked)."), status_code=401
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        key,
        max_age=COOKIE_DAYS * 86400,
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request, context.settings),
    )
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response


@router.post("/logout")
def logout(request: Request, context: ContextDep) -> Response:
    """Ends the session on the server (its cookie is useless from now on, wherever a copy
    of it is) and forgets both cookies."""
    if not from_own_page(request, context):
        return _not_from_own_page()
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with context.db.session() as session:
            revoke_session(session, token)
    response = RedirectResponse("/", status_code=303)
    forget_cookies(response)
    return response
