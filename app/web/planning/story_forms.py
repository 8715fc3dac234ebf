"""Stories in the browser: a client's or an employee's story, recorded for a quarter (the
quarterly review opens with them), through the same schema and service as
`/api/v1/stories`, with the person signed in as its author."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.deps import ContextDep, SessionDep
from app.errors import InvalidInput
from app.goals import objectives, stories
from app.goals.plan_schemas import StoryIn
from app.goals.reviews import parse_quarter
from app.people.principal import Person
from app.web.planning.access import answer_post, done, editor, last_quarter, today
from app.web.planning.fields import (
    Errors,
    csrf_input,
    field,
    given,
    planning_page,
    problem_note,
    radios,
    schema_errors,
    select,
    service_errors,
    typed,
)

router = APIRouter(include_in_schema=False)

FIELDS = ("kind", "text", "date", "quarter", "objective_id")
KINDS = (
    ("client", "A client's story", "what happened to a client, and what it meant to them"),
    ("employee", "An employee's story", "what happened to someone on the team"),
)


def _story_form(person: Person, session: Session, values: Mapping[str, str], errors: Errors) -> str:
    linked = [("", "None")] + [(str(o.id), o.title) for o in objectives.list_objectives(session)]
    return (
        f"<form class='plan' method='post' action='/plan/stories'>{csrf_input(person)}"
        f"{problem_note(errors)}"
        + radios("kind", "Whose story", KINDS, values, errors)
        + field(
            "text",
            "The story",
            values,
            errors,
            kind="textarea",
            required=True,
            hint="As it was told: what happened, to whom, what it meant.",
        )
        + field("date", "When it happened or was told", values, errors, kind="date")
        + field(
            "quarter",
            "Recorded for the quarter",
            values,
            errors,
            hint="e.g. 2026-Q4. The review of that quarter opens with it.",
        )
        + select("objective_id", "Speaks to the objective", linked, values, errors)
        + "<div class='actions'><button type='submit'>Record the story</button> "
        "<a href='/plan'>Cancel</a></div></form>"
    )


@router.get("/plan/stories/new")
def new_story(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = editor(request, session)
    if isinstance(person, Response):
        return person
    day = today(context)
    quarter = request.query_params.get("quarter") or stories.quarter_of(day)
    values = {"kind": "client", "date": day.isoformat(), "quarter": quarter}
    form = _story_form(person, session, values, {})
    return planning_page(
        person, "New story", f"<section><h2>New story</h2>{form}</section>", last_quarter(context)
    )


@router.post("/plan/stories")
async def create_story(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request, session, lambda person, form: _create(session, context, person, form)
    )


def _create(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str]
) -> Response:
    try:
        body = StoryIn.model_validate(given(typed(form, FIELDS)))
        row = stories.create_story(session, body, today(context), by=person.name)
    except ValidationError as error:
        errors = schema_errors(error)
    except InvalidInput as error:
        session.rollback()
        errors = service_errors(error)
    else:
        if parse_quarter(row.quarter).start > today(context):
            return done("/#stories-title")  # its quarter's review opens once it starts
        return done(f"/reviews/{row.quarter}#stories-title")
    page = _story_form(person, session, form, errors)
    return planning_page(
        person,
        "New story",
        f"<section><h2>New story</h2>{page}</section>",
        last_quarter(context),
        status=422,
    )
