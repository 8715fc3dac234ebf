"""Milestones (add, change, delete on a goal) and check-ins (a person's confidence, 1 to 10,
and a note, on a goal or an objective) in the browser, through the same services and
schemas as `/api/v1/goals/{id}/milestones` and `/api/v1/check-ins`."""

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
from app.goals import checkpoints, objectives, service
from app.goals.models import Goal, GoalKind, Milestone
from app.goals.schemas import CheckInIn, MilestoneIn, MilestonePatch
from app.people.principal import Person
from app.web.pages import problem_page
from app.web.planning.access import answer_post, done, editor, last_quarter, path_id, today
from app.web.planning.fields import (
    Errors,
    csrf_input,
    field,
    given,
    hidden,
    number_text,
    planning_page,
    problem_note,
    schema_errors,
    select,
    service_errors,
    typed,
)

router = APIRouter(include_in_schema=False)

MILESTONE_FIELDS = ("title", "due_date", "target")
CONFIDENCE = [(str(n), f"{n}") for n in range(10, 0, -1)]


def _target_hint(goal: Goal) -> str:
    kind = GoalKind(goal.kind)
    if kind is GoalKind.BAND:
        return "A band goal's milestone is the band held on that date: leave it empty."
    if kind.moves:
        return "The value to reach by then."
    return "Optional: a step in the threshold by then."


def _milestone_form(
    person: Person,
    goal: Goal,
    action: str,
    values: Mapping[str, str],
    errors: Errors,
    extra: str = "",
) -> str:
    return (
        f"<form class='plan' method='post' action='{action}'>{csrf_input(person)}"
        f"{hidden('goal_id', goal.id)}{problem_note(errors)}"
        + field("title", "Milestone", values, errors, hint="e.g. 6-month checkpoint.")
        + field(
            "due_date",
            "Date",
            values,
            errors,
            kind="date",
            required=True,
            hint=f"After {goal.start_date}, on or before {goal.due_date}.",
        )
        + field("target", "Target", values, errors, hint=_target_hint(goal))
        + f"<div class='actions'><button type='submit'>Save the milestone</button> "
        f"<a href='/goals/{goal.id}'>Cancel</a></div></form>{extra}"
    )


def _milestone_page(
    person: Person,
    goal: Goal,
    action: str,
    values: Mapping[str, str],
    errors: Errors,
    quarter: str,
    status: int = 200,
    extra: str = "",
) -> Response:
    body = (
        f"<section><h2>Milestone of {escape(goal.title)}</h2>"
        f"{_milestone_form(person, goal, action, values, errors, extra)}</section>"
    )
    return planning_page(person, "Milestone", body, quarter, status=status)


@router.get("/plan/milestones/new")
def new_milestone(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    try:
        goal = service.get_goal(session, path_id(request.query_params.get("goal_id", ""), "goal"))
    except NorthstarError as error:
        return problem_page(error)
    return _milestone_page(person, goal, "/plan/milestones", {}, {}, last_quarter(context))


@router.post("/plan/milestones")
async def create_milestone(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request, session, lambda person, form: _create_milestone(session, context, person, form)
    )


def _create_milestone(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str]
) -> Response:
    try:
        goal = service.get_goal(session, path_id(form.get("goal_id", ""), "goal"))
    except NorthstarError as error:
        return problem_page(error)
    try:
        body = MilestoneIn.model_validate(given(typed(form, MILESTONE_FIELDS)))
        checkpoints.create_milestone(session, goal.id, body, by=person.name)
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error)
    else:
        return done(f"/goals/{goal.id}#milestones-title")
    return _milestone_page(
        person, goal, "/plan/milestones", form, errors, last_quarter(context), status=422
    )


def _delete_form(person: Person, row: Milestone) -> str:
    return (
        f"<form class='plan inline' method='post' action='/plan/milestones/{row.id}/delete'>"
        f"{csrf_input(person)}<button type='submit'>Delete this milestone</button></form>"
    )


def _milestone_values(row: Milestone) -> dict[str, str]:
    return {
        "title": row.title or "",
        "due_date": row.due_date.isoformat(),
        "target": number_text(row.target),
    }


@router.get("/plan/milestones/{milestone_id}/edit")
def edit_milestone(
    milestone_id: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    try:
        row = checkpoints.get_milestone(session, path_id(milestone_id, "milestone"))
    except NorthstarError as error:
        return problem_page(error)
    goal = service.get_goal(session, row.goal_id)
    return _milestone_page(
        person,
        goal,
        f"/plan/milestones/{row.id}",
        _milestone_values(row),
        {},
        last_quarter(context),
        extra=_delete_form(person, row),
    )


@router.post("/plan/milestones/{milestone_id}")
async def update_milestone(
    milestone_id: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    return await answer_post(
        request,
        session,
        lambda person, form: _update_milestone(session, context, person, form, milestone_id),
    )


def _update_milestone(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str], text: str
) -> Response:
    try:
        row = checkpoints.get_milestone(session, path_id(text, "milestone"))
    except NorthstarError as error:
        return problem_page(error)
    values: dict[str, object] = dict(typed(form, MILESTONE_FIELDS))
    values["due_date"] = values["due_date"] or ""  # emptied: refused as the API refuses it
    try:
        patch = MilestonePatch.model_validate(values)
        checkpoints.update_milestone(session, row.id, patch, by=person.name)
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error)
    else:
        return done(f"/goals/{row.goal_id}#milestones-title")
    row = checkpoints.get_milestone(session, row.id)
    goal = service.get_goal(session, row.goal_id)
    return _milestone_page(
        person,
        goal,
        f"/plan/milestones/{row.id}",
        form,
        errors,
        last_quarter(context),
        status=422,
        extra=_delete_form(person, row),
    )


@router.post("/plan/milestones/{milestone_id}/delete")
async def delete_milestone(milestone_id: str, request: Request, session: SessionDep) -> Response:
    return await answer_post(
        request, session, lambda person, form: _delete_milestone(session, person, milestone_id)
    )


def _delete_milestone(session: Session, person: Person, text: str) -> Response:
    try:
        row = checkpoints.get_milestone(session, path_id(text, "milestone"))
        goal_id = row.goal_id
        checkpoints.delete_milestone(session, row.id, by=person.name)
    except NorthstarError as error:
        session.rollback()
        return problem_page(error)
    return done(f"/goals/{goal_id}#milestones-title")


# ---- check-ins -----------------------------------------------------------------------------

CHECK_IN_FIELDS = ("goal_id", "objective_id", "date", "confidence", "note")


def _subject(session: Session, values: Mapping[str, str]) -> tuple[str, str]:
    """(what the check-in is on, in words; where to go back to). Raises NotFound."""
    if values.get("goal_id"):
        goal = service.get_goal(session, path_id(values["goal_id"], "goal"))
        return f"goal {goal.title}", f"/goals/{goal.id}#checkins-title"
    objective = objectives.get_objective(
        session, path_id(values.get("objective_id", ""), "objective")
    )
    return f"objective {objective.title}", f"/#objective-{objective.id}"


def _check_in_page(
    person: Person,
    session: Session,
    values: Mapping[str, str],
    errors: Errors,
    quarter: str,
    status: int = 200,
) -> Response:
    try:
        about, back = _subject(session, values)
    except NorthstarError as error:
        return problem_page(error)
    subject = (
        hidden("goal_id", values["goal_id"])
        if values.get("goal_id")
        else hidden("objective_id", values.get("objective_id", ""))
    )
    body = (
        f"<section><h2>Check in on the {escape(about)}</h2>"
        f"<form class='plan' method='post' action='/plan/check-ins'>{csrf_input(person)}"
        f"{subject}{problem_note(errors)}"
        + select(
            "confidence",
            "Confidence",
            CONFIDENCE,
            values,
            errors,
            hint="10: certain it will happen; 1: it won't.",
        )
        + field(
            "note",
            "Note",
            values,
            errors,
            kind="textarea",
            hint="What makes you more or less confident.",
        )
        + field("date", "Date", values, errors, kind="date", hint="Default: today.")
        + f"<div class='actions'><button type='submit'>Record the check-in</button> "
        f"<a href='{back}'>Cancel</a></div></form></section>"
    )
    return planning_page(person, "Check-in", body, quarter, status=status)


@router.get("/plan/check-ins/new")
def new_check_in(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    values = {**dict(request.query_params), "confidence": "7"}
    return _check_in_page(person, session, values, {}, last_quarter(context))


@router.post("/plan/check-ins")
async def create_check_in(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request, session, lambda person, form: _create_check_in(session, context, person, form)
    )


def _create_check_in(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str]
) -> Response:
    try:
        _about, back = _subject(session, form)
    except NorthstarError as error:
        return problem_page(error)
    try:
        body = CheckInIn.model_validate(given(typed(form, CHECK_IN_FIELDS)))
        checkpoints.create_check_in(session, body, today(context), by=person.name)
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error)
    else:
        return done(back)
    return _check_in_page(person, session, form, errors, last_quarter(context), status=422)
