"""`/account`: anyone signed in as themselves (not with an API key) changes their own
password, knowing the current one, under the same rules as `northstar user`. Their other
sessions end; this browser gets a new session. Wrong current passwords count as failed
sign-ins for the address (app.people.signin), and a password typed is never drawn again.

Someone signed in with a one-time password from the People page is sent here from every
other page (app.people.web.signed_in_person), and told so, until they choose their own."""

from __future__ import annotations

from html import escape

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.deps import ContextDep, SessionDep
from app.api.throttle import TooManyFailedKeys, client_address
from app.errors import InvalidInput
from app.people import users
from app.people.principal import Person, Role
from app.people.sessions import start_session
from app.people.signin import email_throttle_for
from app.people.web import FormNotAllowed, forbidden_page, set_session_cookie, signed_in_person
from app.web.planning.access import answer_post, done, last_quarter
from app.web.planning.fields import (
    GENERAL,
    Errors,
    csrf_input,
    field,
    planning_page,
    problem_note,
    service_errors,
)

router = APIRouter(include_in_schema=False)
log = structlog.get_logger(__name__)

PASSWORD_FIELDS = CURRENT, NEW, AGAIN = ("current_password", "new_password", "new_password_again")


def _account_person(request: Request, session: Session) -> Person | HTMLResponse:
    person = signed_in_person(request, session)
    if isinstance(person, Response) or person.user_id is not None:
        return person
    return forbidden_page(_no_account())


def _no_account() -> FormNotAllowed:
    return FormNotAllowed(
        "You are signed in with an API key, which has no account or password. Sign in with "
        "your e-mail address and password to change your password.",
        code="account_required",
    )


def account_page(
    person: Person,
    session: Session,
    context: ServiceContext,
    errors: Errors,
    *,
    changed: bool = False,
    status: int = 200,
) -> HTMLResponse:
    assert person.user_id is not None
    user = users.get_user_by_id(session, person.user_id)
    note = (
        "<p class='status on_track form-problem' role='status'>Your password is changed. You "
        "stay signed in here; everywhere else you were signed out.</p>"
        if changed
        else ""
    )
    if user.password_is_temporary:
        note += (
            "<p class='status at_risk form-problem' role='alert'>Choose your own password: "
            "the one you were given works only until then.</p>"
        )
    # A password typed is never drawn again: every field starts empty.
    empty: dict[str, str] = {}
    form = (
        f"<form class='plan' method='post' action='/account'>{csrf_input(person)}"
        f"{problem_note(errors, shown=PASSWORD_FIELDS)}"
        + field(
            "current_password",
            "Your current password",
            empty,
            errors,
            kind="password",
            required=True,
            extra=" autocomplete='current-password'",
        )
        + field(
            "new_password",
            "New password",
            empty,
            errors,
            kind="password",
            required=True,
            hint="12 characters or more, not your e-mail address or name. A few words you "
            "will remember make a good one.",
            extra=" autocomplete='new-password'",
        )
        + field(
            "new_password_again",
            "The new password again",
            empty,
            errors,
            kind="password",
            required=True,
            extra=" autocomplete='new-password'",
        )
        + "<div class='actions'><button type='submit'>Change my password</button></div></form>"
    )
    body = (
        f"<section><h2>My account</h2>{note}<p>{escape(user.name)} "
        f"&lt;{escape(user.email)}&gt;, {escape(user.role)}.</p></section>"
        f"<section><h2>Change my password</h2><p>Your other sign-ins end; this one stays."
        f"</p>{form}</section>"
    )
    return planning_page(person, "My account", body, last_quarter(context), status=status)


@router.get("/account")
def account(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = _account_person(request, session)
    if isinstance(person, Response):
        return person
    changed = request.query_params.get("changed") == "1"
    return account_page(person, session, context, {}, changed=changed)


@router.post("/account")
async def change_my_password(
    request: Request, session: SessionDep, context: ContextDep
) -> Response:
    return await answer_post(
        request,
        session,
        lambda person, form: _change_password(request, session, context, person, form),
        need=Role.VIEWER,
    )


def _change_password(
    request: Request,
    session: Session,
    context: ServiceContext,
    person: Person,
    form: dict[str, str],
) -> Response:
    if person.user_id is None:
        return forbidden_page(_no_account())
    user = users.get_user_by_id(session, person.user_id)
    # Wrong current passwords count as failed sign-ins for the address: a browser left
    # signed in must not become a way to guess the password.
    throttle = email_throttle_for(request.app)
    try:
        throttle.refuse_if_blocked(user.email)
    except TooManyFailedKeys as refused:
        wait = {GENERAL: f"Too many wrong passwords: try again in {refused.retry_after} s."}
        page = account_page(person, session, context, wait, status=429)
        page.headers["Retry-After"] = str(refused.retry_after)
        return page
    current, new = form.get(CURRENT, ""), form.get(NEW, "")
    errors: Errors = {}
    if not current:
        errors[CURRENT] = "Type your current password."
    if new != form.get(AGAIN, ""):
        errors[AGAIN] = "The two new passwords differ: type the same one twice."
    if not errors:
        try:
            ended = users.change_own_password(session, user, current, new)
        except users.WrongCurrentPassword as error:
            throttle.record_failure(user.email)
            log.warning("password_change_refused", user_id=user.id)
            errors = service_errors(error)
        except InvalidInput as error:  # the password rules
            errors = {NEW: error.message}
    if errors:
        session.rollback()
        return account_page(person, session, context, errors, status=422)
    token = start_session(
        session,
        user,
        settings=context.settings,
        client=client_address(request.scope),
        user_agent=request.headers.get("user-agent"),
    )
    log.info("password_changed", user_id=user.id, sessions_ended=ended)
    response = done("/account?changed=1")
    set_session_cookie(response, token, request, context.settings)
    return response
