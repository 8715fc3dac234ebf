"""`/`: the overview (the owner's scorecard); `POST /login` and `POST /logout` (the API key
kept in a cookie). The other pages are in app.web.pages.

Signing in and out must come from Northstar's own page: a form posted from another site is
refused (its `Origin`, or `Sec-Fetch-Site`, says where it came from), so no third party can
sign a browser in with a key of its choosing. Wrong keys count against the address's
failures like any other (app.api.throttle).
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.api.context import ServiceContext
from app.api.deps import COOKIE_NAME, ContextDep, SessionDep, Unauthorized, authenticate
from app.api.public_url import own_origins
from app.api.throttle import TooManyFailedKeys
from app.errors import InvalidInput, NorthstarError
from app.goals.config import get_thresholds
from app.goals.evaluate import AlignmentEngine
from app.goals.scorecard import scorecard, source_histories
from app.kpis.periods import previous_quarter
from app.web.data import source_states
from app.web.kpi_pages import day_param
from app.web.overview import overview_page
from app.web.pages import problem_page
from app.web.pages import router as pages_router
from app.web.render import login_page
from app.web.signin import signed_in, throttled

router = APIRouter(include_in_schema=False)
router.include_router(pages_router)

OVERVIEW_PERIODS = 12  # the periods each goal's chart shows

COOKIE_DAYS = 30
MAX_FORM_BYTES = 4096  # one field holding a key of about 50 characters
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
    key = signed_in(request, session)
    if isinstance(key, Response):
        return key
    today = datetime.now(context.settings.tz).date()
    try:
        day = overview_day(request, today)
    except NorthstarError as error:
        return problem_page(error)
    engine = AlignmentEngine(session, thresholds=get_thresholds(), tz=context.settings.tz)
    objectives = scorecard(engine, day, sparkline=OVERVIEW_PERIODS)
    sources = source_states(context, source_histories(engine))
    return HTMLResponse(overview_page(objectives, day, previous_quarter(day), sources))


def overview_day(request: Request, today: date) -> date:
    """`?as_of=YYYY-MM-DD`: the plan as it stood that day (default today); never later."""
    day = day_param(request.query_params, "as_of") or today
    if day > today:
        raise InvalidInput(
            f"`as_of` ({day}) is in the future; the overview looks at today ({today}) or back.",
            code="as_of_in_future",
        )
    return day


async def _small_body(request: Request) -> bytes | None:
    """The body, or None once it passes MAX_FORM_BYTES (the rest is never read)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return bytes(body)


@router.post("/login")
async def login(request: Request, context: ContextDep) -> Response:
    if not from_own_page(request, context):
        return _not_from_own_page()
    body = await _small_body(request)
    if body is None:
        return HTMLResponse(login_page("That is too long to be an API key."), status_code=413)
    # A plain urlencoded form: no multipart parser needed for one field.
    form = parse_qs(body.decode("utf-8", "replace"))
    key = (form.get("api_key") or [""])[0].strip()
    if not key:
        return HTMLResponse(login_page("Paste an API key first."), status_code=401)
    return await run_in_threadpool(_sign_in, request, context, key)


def _sign_in(request: Request, context: ServiceContext, key: str) -> Response:
    try:
        with context.db.session() as session:
            authenticate(session, key, request=request, sent_as="form")
    except TooManyFailedKeys as refused:
        return throttled(refused)
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
        # Behind a TLS-terminating proxy the request itself may say http.
        secure=request.url.scheme == "https"
        or (context.settings.public_base_url or "").startswith("https://"),
    )
    return response


@router.post("/logout")
def logout(request: Request, context: ContextDep) -> Response:
    if not from_own_page(request, context):
        return _not_from_own_page()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="strict")
    return response
