"""`/goals/{id}`, `/kpis`, `/kpis/{key}`: the owner's pages behind the overview.

Each is signed in by the page's cookie (app.people.web). The numbers come from the same
functions as the API's (the alignment engine, `/api/v1/kpis/{key}/values`, the breakdown);
a problem with the request is answered as a page with the API's 4xx status and its words.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.api.deps import ContextDep, SessionDep
from app.errors import InvalidInput, NorthstarError
from app.goals import service
from app.goals.checkpoints import list_check_ins
from app.goals.config import get_thresholds
from app.goals.evaluate import AlignmentEngine
from app.goals.history import goal_history_lines
from app.inputs import ID_MAX
from app.kpis import manual
from app.kpis.periods import previous_quarter
from app.kpis.router import kpi_series
from app.people.web import signed_in_person
from app.sources.models import Source
from app.web.drilldown import DIMENSIONS, drilldown, offered_dimensions
from app.web.goal_page import goal_page
from app.web.kpi_pages import kpi_list_page, kpi_page, parse_kpi_query
from app.web.render import error_page

router = APIRouter(include_in_schema=False)

GOAL_PAGE_PERIODS = 24  # the periods a goal's big chart shows
PROBLEM_TITLES = {
    400: "Not available",
    404: "Not found",
    422: "Check the address",
}


def problem_page(error: NorthstarError) -> HTMLResponse:
    title = PROBLEM_TITLES.get(error.status_code, "Something is wrong with the request")
    return HTMLResponse(error_page(title, error.message), status_code=error.status_code)


def _today(context: ContextDep) -> date:
    return datetime.now(context.settings.tz).date()


def _goal_id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= ID_MAX:
        raise InvalidInput(
            f"{text!r} is not a goal's id: the address is /goals/ followed by a whole number "
            f"from 1 to {ID_MAX}, as the overview's links are.",
            code="invalid_goal_id",
        )
    return int(text)


@router.get("/goals/{goal_id}", response_class=HTMLResponse)
def goal_view(goal_id: str, request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = signed_in_person(request, session)
    if isinstance(person, Response):
        return person
    today = _today(context)
    try:
        goal_row = service.get_goal(session, _goal_id(goal_id))
        engine = AlignmentEngine(session, thresholds=get_thresholds(), tz=context.settings.tz)
        goal = engine.evaluate_goals([goal_row], today, sparkline=GOAL_PAGE_PERIODS)[goal_row.id]
        kpi = manual.get_kpi(session, goal.kpi.key)
        offered = offered_dimensions(kpi)
        by = request.query_params.get("by", offered[0] if offered else "client").strip()
        if by not in DIMENSIONS:
            raise InvalidInput(
                f"`by` {by!r} is not a breakdown: use one of {', '.join(DIMENSIONS)}.",
                code="invalid_breakdown",
            )
        if offered and by not in offered:
            raise InvalidInput(
                f"{kpi.name} cannot be broken down by {by}; it can by {', '.join(offered)}.",
                code="scope_not_supported",
            )
        found = drilldown(session, goal, kpi, by, today, context.settings.tz)
        check_ins = list_check_ins(session, goal_id=goal_row.id)
        history = goal_history_lines(session, goal_row.id, context.settings.tz)
    except NorthstarError as error:
        return problem_page(error)
    return HTMLResponse(
        goal_page(
            goal, kpi, check_ins, found, previous_quarter(today), history=history, person=person
        )
    )


@router.get("/kpis", response_class=HTMLResponse)
def kpis_view(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = signed_in_person(request, session)
    if isinstance(person, Response):
        return person
    kpis = manual.all_kpis(session)
    return HTMLResponse(kpi_list_page(kpis, previous_quarter(_today(context)), person))


@router.get("/kpis/{kpi_key}", response_class=HTMLResponse)
def kpi_view(kpi_key: str, request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = signed_in_person(request, session)
    if isinstance(person, Response):
        return person
    try:
        kpi = manual.get_kpi(session, kpi_key)
        query = parse_kpi_query(request.query_params, kpi)
        series = kpi_series(
            kpi.key,
            request,
            session,
            context,
            person,
            grain=query.grain,
            from_=query.start,
            to=query.end,
            source=query.source,
            format="json",
        )
    except NorthstarError as error:
        return problem_page(error)
    sources = [(s.id, s.name) for s in session.execute(select(Source.id, Source.name))]
    return HTMLResponse(kpi_page(kpi, series, sources, previous_quarter(_today(context)), person))
