"""Who may open a planning page or post its form (app.people): every page needs a person
signed in; a form needs an editor (or the owner) and the CSRF token of their own session.

A refused post answers 403 before anything is read from its fields or written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.context import ServiceContext
from app.errors import NorthstarError, NotFound
from app.inputs import ID_MAX
from app.kpis.periods import previous_quarter
from app.people.principal import Person, Role
from app.people.web import (
    FormNotAllowed,
    check_form,
    forbidden_page,
    read_form,
    signed_in_person,
)
from app.web.pages import problem_page


def reader(request: Request, session: Session) -> Person | HTMLResponse:
    """The person signed in, or the page to answer instead (the sign-in form)."""
    return signed_in_person(request, session)


def editor(request: Request, session: Session) -> Person | HTMLResponse:
    """For a page that only shows a form: the person, if they may change the plan."""
    person = signed_in_person(request, session)
    if isinstance(person, Response) or person.can_edit:
        return person
    return forbidden_page(
        FormNotAllowed(
            f"You are signed in as {person.name}, who may read the plan but not change it. "
            "Ask your Northstar owner for the editor role.",
            code="role_required",
        )
    )


async def posted(
    request: Request, session: Session, need: Role = Role.EDITOR
) -> tuple[Person, dict[str, str]] | Response:
    """A form post: (the person, its fields) once its CSRF token and the person's role are
    checked, else the answer (the sign-in page, or 403)."""
    person = signed_in_person(request, session)
    if isinstance(person, Response):
        return person
    try:
        form = await read_form(request)
        check_form(person, form, need=need)
    except NorthstarError as error:
        if error.status_code == 403:
            return forbidden_page(error)
        return problem_page(error)  # a body too long or not a form: the API's 4xx
    # What signing in noted (the visit) is kept; a refused or previewed form then rolls
    # back only its own writes.
    await run_in_threadpool(session.commit)
    return person, form


async def answer_post(
    request: Request,
    session: Session,
    handle: Callable[[Person, dict[str, str]], Response],
    need: Role = Role.EDITOR,
) -> Response:
    """A form post, answered by `handle(person, fields)` in a worker thread (it reads and
    writes the database) once `posted` has let it through; else `posted`'s answer."""
    got = await posted(request, session, need)
    if isinstance(got, Response):
        return got
    person, form = got
    return await run_in_threadpool(handle, person, form)


def archived_or_restored(
    session: Session,
    person: Person,
    text_id: str,
    verb: str,
    *,
    what: str,
    archive: Callable[..., object],
    restore: Callable[..., object],
    then: Callable[[int], str],
) -> Response:
    """`verb` (archive or restore, from the address) done to the `what` whose id is
    `text_id`, recorded as `person`'s; then to the page `then(id)` names, or a 404 page."""
    try:
        row_id = path_id(text_id, what)
        action = {"archive": archive, "restore": restore}.get(verb)
        if action is None:
            article = "An" if what[:1] in "aeiou" else "A"
            raise NotFound(f"{article} {what} can be archived or restored here.", code="not_found")
        action(session, row_id, by=person.name)
    except NorthstarError as error:
        session.rollback()
        return problem_page(error)
    return done(then(row_id))


def done(url: str) -> RedirectResponse:
    """After a successful post: to the page showing the result (POST, redirect, GET)."""
    return RedirectResponse(url, status_code=303)


def today(context: ServiceContext) -> date:
    """Today in the reporting time zone."""
    return datetime.now(context.settings.tz).date()


def last_quarter(context: ServiceContext) -> str:
    return previous_quarter(today(context))


def path_id(text: str, what: str) -> int:
    """An id in a page's address, else a 404 page's error (no such page)."""
    if not text.isdigit() or not 1 <= int(text) <= ID_MAX:
        raise NotFound(
            f"There is no {what} {text!r}: the address takes its id, a whole number from 1 to "
            f"{ID_MAX}, as the plan's links do.",
            code=f"{what}_not_found",
        )
    return int(text)
