"""Changing a goal in the browser: its form is the new goal's (its KPI fixed), and only what
the person changed is sent to the service as the API's `GoalPatch`, so a computed baseline
left as shown stays computed. Archive and restore, too."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.deps import ContextDep, SessionDep
from app.errors import InvalidInput, NorthstarError
from app.goals import service
from app.goals.models import Goal
from app.goals.schemas import GoalOut, GoalPatch
from app.kpis import manual
from app.people.principal import Person
from app.web.pages import problem_page
from app.web.planning.access import (
    answer_post,
    archived_or_restored,
    done,
    editor,
    last_quarter,
    path_id,
    today,
)
from app.web.planning.fields import (
    Errors,
    csrf_input,
    number_text,
    planning_page,
    problem_note,
    schema_errors,
    select,
    service_errors,
)
from app.web.planning.goal_forms import (
    SCOPES,
    TERMS,
    goal_fields,
    goal_payload,
    objective_options,
    shown_fields,
)

router = APIRouter(include_in_schema=False)


def _stored(row: Goal) -> dict[str, str]:
    out = GoalOut.of(row)
    values = {name: "" for name in (*TERMS, *SCOPES)}
    for name in TERMS:
        value = getattr(out, name)
        values[name] = number_text(value) if isinstance(value, float) else str(value or "")
    for name, value in out.scope.model_dump().items():
        values[f"scope_{name}"] = "" if value is None else str(value)
    values["kind"] = out.kind.value
    values["evaluation_grain"] = out.evaluation_grain.value
    values["judge_partial"] = "on" if out.judge_partial else ""
    return values


def _patch(form: Mapping[str, str], row: Goal) -> GoalPatch:
    """Only what the person changed: a computed baseline left as shown stays computed."""
    sent = goal_payload(form)
    sent.pop("kpi", None)
    for name in ("baseline", "baseline_start", "baseline_end", "target", "low", "high"):
        sent.setdefault(name, None)  # emptied: cleared
    for name in ("title", "start_date", "due_date"):
        sent.setdefault(name, "")  # emptied: refused, as the API refuses it
    full = GoalPatch.model_validate(sent)
    current = GoalOut.of(row)
    changed = {
        name: getattr(full, name)
        for name in full.model_fields_set
        if getattr(full, name) != getattr(current, name)
    }
    return GoalPatch.model_validate(changed)


def _edit_page(
    person: Person,
    session: Session,
    row: Goal,
    values: Mapping[str, str],
    errors: Errors,
    quarter: str,
    status: int = 200,
) -> Response:
    kpi = manual.get_kpi(session, row.kpi_key)
    verb, words = ("restore", "Restore it") if row.archived_at else ("archive", "Archive it")
    body = (
        f"<section><h2>Change goal: {escape(row.title)}</h2><p class='muted'>Measured by "
        f"{escape(kpi.name)}. Every change is kept in the goal's history, with your name."
        f"</p><form class='plan' method='post' action='/plan/goals/{row.id}'>"
        f"{csrf_input(person)}{problem_note(errors, shown_fields(kpi))}"
        + select("objective_id", "Objective", objective_options(session), values, errors)
        + goal_fields(session, kpi, values, errors)
        + f"<div class='actions'><button type='submit'>Save</button> "
        f"<a href='/goals/{row.id}'>Cancel</a></div></form></section>"
        f"<section><h2>Archive</h2><form class='plan inline' method='post' "
        f"action='/plan/goals/{row.id}/{verb}'>{csrf_input(person)}<p>An archived goal leaves "
        "the overview and alerts; its history and check-ins stay.</p>"
        f"<button type='submit'>{words}</button></form></section>"
    )
    return planning_page(person, f"Goal {row.id}", body, quarter, status=status)


@router.get("/plan/goals/{goal_id}/edit")
def edit_goal(goal_id: str, request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    try:
        row = service.get_goal(session, path_id(goal_id, "goal"))
    except NorthstarError as error:
        return problem_page(error)
    return _edit_page(person, session, row, _stored(row), {}, last_quarter(context))


@router.post("/plan/goals/{goal_id}")
async def update_goal(
    goal_id: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    return await answer_post(
        request, session, lambda person, form: _update(session, context, person, form, goal_id)
    )


def _update(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str], text: str
) -> Response:
    try:
        row = service.get_goal(session, path_id(text, "goal"))
    except NorthstarError as error:
        return problem_page(error)
    try:
        patch = _patch(form, row)
        service.update_goal(
            session, row.id, patch, today(context), context.settings.tz, by=person.name
        )
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error)
    else:
        return done(f"/goals/{row.id}")
    row = service.get_goal(session, row.id)
    return _edit_page(person, session, row, form, errors, last_quarter(context), status=422)


@router.post("/plan/goals/{goal_id}/{verb}")
async def archive_or_restore(
    goal_id: str, verb: str, request: Request, session: SessionDep
) -> Response:
    return await answer_post(
        request,
        session,
        lambda person, form: archived_or_restored(
            session,
            person,
            goal_id,
            verb,
            what="goal",
            archive=service.archive_goal,
            restore=service.restore_goal,
            then=lambda row_id: f"/goals/{row_id}",
        ),
    )
