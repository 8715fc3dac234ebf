"""`/`: the scorecard page, `/login` and `/logout` (the API key kept in a cookie)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import COOKIE_NAME, ContextDep, SessionDep
from app.goals.config import get_thresholds
from app.goals.evaluate import AlignmentEngine
from app.goals.scorecard import scorecard, source_histories
from app.kpis.periods import previous_quarter
from app.security.apikeys import find_active_key
from app.web.render import login_page, scorecard_page

router = APIRouter(include_in_schema=False)

COOKIE_DAYS = 30


@router.get("/", response_class=HTMLResponse)
def scorecard_view(request: Request, session: SessionDep, context: ContextDep) -> Response:
    key = request.cookies.get(COOKIE_NAME)
    if not key or find_active_key(session, key) is None:
        return HTMLResponse(login_page(), status_code=200 if not key else 401)
    today = datetime.now(context.settings.tz).date()
    engine = AlignmentEngine(session, thresholds=get_thresholds(), tz=context.settings.tz)
    objectives = scorecard(engine, today, sparkline=12)
    return HTMLResponse(
        scorecard_page(objectives, today, previous_quarter(today), source_histories(engine))
    )


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    # A plain urlencoded form: no multipart parser needed for one field.
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("api_key") or [""])[0].strip()
    if not key or find_active_key(session, key) is None:
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
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/logout")
def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response
