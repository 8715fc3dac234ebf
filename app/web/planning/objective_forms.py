"""Objectives in the browser: write one down, change it, archive and restore it.

Each form is parsed into the API's schema (`ObjectiveIn`, `ObjectivePatch`) and handed to
the same service as `/api/v1/objectives`, in the name of the person signed in."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.api.deps import ContextDep, SessionDep
from app.errors import InvalidInput, NorthstarError
from app.goals import objectives
from app.goals.models import Objective
from app.goals.schemas import ObjectiveIn, ObjectivePatch
from app.people.principal import Person
from app.web.pages import problem_page
from app.web.planning.access import (
    answer_post,
    archived_or_restored,
    done,
    editor,
    last_quarter,
    path_id,
)
from app.web.planning.fields import (
    Errors,
    csrf_input,
    field,
    given,
    number_text,
    planning_page,
    problem_note,
    schema_errors,
    select,
    service_errors,
    typed,
)

router = APIRouter(include_in_schema=False)

FIELDS = ("title", "purpose", "owner", "horizon", "parent_id", "win_feels_like", "weight")


def _parents(session: Session, own_id: int | None) -> list[tuple[str, str]]:
    rows = objectives.list_objectives(session)
    return [("", "None: a top-level objective")] + [
        (str(o.id), o.title) for o in rows if o.id != own_id
    ]


def objective_form(
    person: Person,
    action: str,
    values: Mapping[str, str],
    errors: Errors,
    parents: list[tuple[str, str]],
    submit: str,
) -> str:
    return (
        f"<form class='plan' method='post' action='{action}'>{csrf_input(person)}"
        f"{problem_note(errors)}"
        + field("title", "Title", values, errors, required=True, hint="What you set out to do.")
        + field(
            "purpose",
            "Purpose",
            values,
            errors,
            kind="textarea",
            hint="Who it serves and why it matters.",
        )
        + field("owner", "Owner", values, errors, hint="The person answerable for it.")
        + field("horizon", "Horizon", values, errors, hint="e.g. 6 months, 12 months, 3 years.")
        + select(
            "parent_id",
            "Serves objective",
            parents,
            values,
            errors,
            hint="The larger objective this one is a step towards, if any.",
        )
        + field(
            "win_feels_like",
            "What a win will feel like",
            values,
            errors,
            kind="textarea",
            hint="Not what it looks like on paper: how it will feel "
            "(\u201cI can take a real vacation\u201d). The quarterly review ends with these.",
        )
        + field(
            "weight",
            "Weight",
            values,
            errors,
            hint="Its weight in its parent's progress: 1 unless it counts more or less.",
        )
        + f"<div class='actions'><button type='submit'>{submit}</button> "
        "<a href='/plan'>Cancel</a></div></form>"
    )


@router.get("/plan/objectives/new")
def new_objective(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    form = objective_form(
        person,
        "/plan/objectives",
        {"weight": "1", "parent_id": request.query_params.get("parent_id", "")},
        {},
        _parents(session, None),
        "Save the objective",
    )
    return planning_page(
        person,
        "New objective",
        f"<section><h2>New objective</h2>{form}</section>",
        last_quarter(context),
    )


@router.post("/plan/objectives")
async def create_objective(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request, session, lambda person, form: _create(session, context, person, form)
    )


def _create(
    session: Session, context: ContextDep, person: Person, form: dict[str, str]
) -> Response:
    try:
        body = ObjectiveIn.model_validate(given(typed(form, FIELDS)))
        row = objectives.create_objective(session, body, by=person.name)
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error)
    else:
        return done(f"/#objective-{row.id}")
    page = objective_form(
        person, "/plan/objectives", form, errors, _parents(session, None), "Save the objective"
    )
    return planning_page(
        person,
        "New objective",
        f"<section><h2>New objective</h2>{page}</section>",
        last_quarter(context),
        status=422,
    )


def _stored(row: Objective) -> dict[str, str]:
    return {
        "title": row.title,
        "purpose": row.purpose or "",
        "owner": row.owner or "",
        "horizon": row.horizon or "",
        "parent_id": str(row.parent_id or ""),
        "win_feels_like": row.win_feels_like or "",
        "weight": number_text(row.weight),
    }


def _edit_page(
    person: Person,
    session: Session,
    row: Objective,
    values: Mapping[str, str],
    errors: Errors,
    quarter: str,
    status: int = 200,
) -> Response:
    form = objective_form(
        person, f"/plan/objectives/{row.id}", values, errors, _parents(session, row.id), "Save"
    )
    verb, words = ("restore", "Restore it") if row.archived_at else ("archive", "Archive it")
    meaning = (
        "It is archived: it is left out of the overview and alerts, with its goals."
        if row.archived_at
        else "Archiving takes it, its goals and its child objectives off the overview and "
        "alerts; everything stays readable and can be restored."
    )
    state = (
        f"<form class='plan inline' method='post' action='/plan/objectives/{row.id}/{verb}'>"
        f"{csrf_input(person)}<p>{meaning}</p><button type='submit'>{words}</button></form>"
    )
    body = (
        f"<section><h2>Change objective: {escape(row.title)}</h2>{form}</section>"
        f"<section><h2>Check in</h2><p><a href='/plan/check-ins/new?objective_id={row.id}'>"
        "Record your confidence in this objective</a></p></section>"
        f"<section><h2>Archive</h2>{state}</section>"
    )
    return planning_page(person, f"Objective {row.id}", body, quarter, status=status)


@router.get("/plan/objectives/{objective_id}/edit")
def edit_objective(
    objective_id: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    try:
        row = objectives.get_objective(session, path_id(objective_id, "objective"))
    except NorthstarError as error:
        return problem_page(error)
    return _edit_page(person, session, row, _stored(row), {}, last_quarter(context))


@router.post("/plan/objectives/{objective_id}")
async def update_objective(
    objective_id: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    return await answer_post(
        request, session, lambda person, form: _update(session, context, person, form, objective_id)
    )


def _update(
    session: Session, context: ContextDep, person: Person, form: dict[str, str], text_id: str
) -> Response:
    try:
        row = objectives.get_objective(session, path_id(text_id, "objective"))
    except NorthstarError as error:
        return problem_page(error)
    values: dict[str, object] = dict(typed(form, FIELDS))
    values["title"] = values["title"] or ""  # empty: the schema says a title is needed
    if values["weight"] is None:
        del values["weight"]  # left empty: unchanged
    try:
        patch = ObjectivePatch.model_validate(values)
        objectives.update_objective(session, row.id, patch, by=person.name)
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error)
    else:
        return done(f"/#objective-{row.id}")
    row = objectives.get_objective(session, row.id)
    return _edit_page(person, session, row, form, errors, last_quarter(context), status=422)


@router.post("/plan/objectives/{objective_id}/{verb}")
async def archive_or_restore(
    objective_id: str, verb: str, request: Request, session: SessionDep
) -> Response:
    return await answer_post(
        request,
        session,
        lambda person, form: archived_or_restored(
            session,
            person,
            objective_id,
            verb,
            what="objective",
            archive=objectives.archive_objective,
            restore=objectives.restore_objective,
            then=lambda _row_id: "/plan",
        ),
    )
