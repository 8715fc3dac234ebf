"""The People page (`/people`, owners only): everyone who may sign in, and the forms to
invite someone, change a role, disable or enable a person and reset a password (each
person changes their own password on `/account`, app.web.planning.account_page).

Inviting someone or resetting their password makes a one-time password
(app.people.users.one_time_password) that is shown once, in the answer to the post, for
the owner to pass on: never in an address, a log line or the database (only its argon2id
hash is kept). It works only until the person chooses their own password on `/account`:
no other page opens for them before (app.people.web.signed_in_person). Disabling a person
or resetting their password ends their sessions, as the `northstar user` commands do. An
owner cannot disable themselves, and the last owner who can sign in keeps the owner role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.deps import ContextDep, SessionDep
from app.errors import Conflict, InvalidInput, NotFound
from app.people import users
from app.people.models import User
from app.people.principal import Person, Role
from app.people.web import FormNotAllowed, forbidden_page, signed_in_person
from app.web.pages import problem_page
from app.web.planning.access import answer_post, done, last_quarter, path_id
from app.web.planning.fields import (
    GENERAL,
    Errors,
    csrf_input,
    field,
    planning_page,
    problem_note,
    radios,
)
from app.web.render import moment_words, person_words

router = APIRouter(include_in_schema=False)
log = structlog.get_logger(__name__)

ROLES = (
    ("owner", "Owner", "everything, including sources, people and keys"),
    ("editor", "Editor", "the plan, check-ins, observations and stories"),
    ("viewer", "Viewer", "reads the scorecard, the plan and the reviews"),
)
# The field of the invite form each of the service's refusals is about.
INVITE_FIELD = {
    "invalid_email": "email",
    "email_taken": "email",
    "invalid_name": "name",
    "invalid_role": "role",
}


@dataclass(frozen=True, slots=True)
class OneTimePassword:
    """What the answer to an invite or a reset shows, once."""

    name: str
    email: str
    password: str
    invited: bool


def owner_only(request: Request, session: Session) -> Person | HTMLResponse:
    """The person signed in, if an owner; else the sign-in form or a 403 page."""
    person = signed_in_person(request, session)
    if isinstance(person, Response) or person.is_owner:
        return person
    return forbidden_page(
        FormNotAllowed(
            "Only an owner can see and change who may sign in; you are signed in as "
            f"{person_words(person)}.",
            code="role_required",
        )
    )


# ---- the People page --------------------------------------------------------------------


def _shown_box(shown: OneTimePassword) -> str:
    what = "invited" if shown.invited else "given a new password"
    return (
        "<section class='one-time' aria-labelledby='one-time-title'>"
        f"<h2 id='one-time-title'>{escape(shown.name)} is {what}</h2>"
        f"<p>Give {escape(shown.name)} this one-time password, with their e-mail address "
        f"<strong>{escape(shown.email)}</strong>, in person or by a channel you trust:</p>"
        f"<p><code class='one-time-password'>{escape(shown.password)}</code></p>"
        "<p class='hint'>It is shown only this once: Northstar keeps nothing it could show "
        "again. They sign in with it, then choose their own password on <em>My account</em>."
        "</p></section>"
    )


def _row_forms(person: Person, user: User) -> str:
    """The controls of one person's row: role, disable or enable, new password."""
    role_options = "".join(
        f"<option value='{value}'{' selected' if value == user.role else ''}>{words}</option>"
        for value, words, _explained in ROLES
    )
    base = f"/people/{user.id}"
    forms = [
        f"<form class='plan inline' method='post' action='{base}/role'>{csrf_input(person)}"
        f"<label for='role-{user.id}'>Role of {escape(user.name)}</label> "
        f"<select id='role-{user.id}' name='role'>{role_options}</select> "
        "<button type='submit'>Change the role</button></form>"
    ]
    if user.id != person.user_id:
        verb, words = ("enable", "Enable") if user.disabled_at else ("disable", "Disable")
        forms.append(
            f"<form class='plan inline' method='post' action='{base}/{verb}'>"
            f"{csrf_input(person)}<button type='submit'>{words} {escape(user.name)}</button>"
            "</form>"
        )
        forms.append(
            f"<form class='plan inline' method='post' action='{base}/reset-password'>"
            f"{csrf_input(person)}<button type='submit'>Give a new one-time password"
            "</button></form>"
        )
    else:
        forms.append(
            "<p class='hint'>You: change your password on <a href='/account'>My account</a>.</p>"
        )
    return "".join(forms)


def _people_table(person: Person, session: Session, row_error: tuple[int, str] | None) -> str:
    signed_in = users.last_sign_ins(session)
    rows = []
    for user in users.list_users(session):
        state = "Disabled" if user.disabled_at else "Active"
        badge = "off_track" if user.disabled_at else "on_track"
        problem = ""
        if row_error is not None and row_error[0] == user.id:
            problem = f"<p class='field-error' role='alert'>{escape(row_error[1])}</p>"
        rows.append(
            f"<tr id='person-{user.id}'><td>{escape(user.name)}</td><td>{escape(user.email)}</td>"
            f"<td>{escape(user.role)}</td><td><span class='status {badge}'>{state}</span></td>"
            f"<td>{escape(moment_words(signed_in.get(user.id)))}</td>"
            f"<td>{problem}{_row_forms(person, user)}</td></tr>"
        )
    if not rows:
        return "<p>No one yet.</p>"
    return (
        "<table><thead><tr><th scope='col'>Name</th><th scope='col'>E-mail address</th>"
        "<th scope='col'>Role</th><th scope='col'>Can sign in</th>"
        "<th scope='col'>Last signed in</th><th scope='col'>Change</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _invite_form(person: Person, values: Mapping[str, str], errors: Errors) -> str:
    return (
        f"<form class='plan' method='post' action='/people'>{csrf_input(person)}"
        f"{problem_note(errors, shown=('name', 'email', 'role'))}"
        + field(
            "name",
            "Name",
            values,
            errors,
            required=True,
            hint="As shown on their check-ins and stories, e.g. Sam Lee.",
        )
        + field("email", "E-mail address", values, errors, kind="email", required=True)
        + radios("role", "Role", ROLES, values, errors)
        + "<div class='actions'><button type='submit'>Invite and make a one-time password"
        "</button></div></form>"
    )


def people_page(
    person: Person,
    session: Session,
    context: ServiceContext,
    *,
    invite: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    row_error: tuple[int, str] | None = None,
    shown: OneTimePassword | None = None,
    status: int = 200,
) -> HTMLResponse:
    note = ""
    if row_error is not None:
        note = (
            "<p class='status off_track form-problem' role='alert'>Nothing was changed: "
            f"{escape(row_error[1])}</p>"
        )
    body = (
        (_shown_box(shown) if shown else "") + f"<section><h2>People</h2>{note}"
        "<p>Everyone who may sign in, with their role. Disabling someone or giving them a new "
        "password signs them out everywhere at once.</p>"
        + _people_table(person, session, row_error)
        + "</section><section><h2>Invite a person</h2>"
        "<p>Northstar makes a one-time password for them, shown once on the next page.</p>"
        + _invite_form(person, invite or {"role": "editor"}, errors or {})
        + "</section>"
    )
    response = planning_page(person, "People", body, last_quarter(context), status=status)
    if shown is not None:
        response.headers["Cache-Control"] = "no-store"  # never from a cache or the back button
    return response


@router.get("/people")
def people(request: Request, session: SessionDep, context: ContextDep) -> Response:
    person = owner_only(request, session)
    if isinstance(person, Response):
        return person
    return people_page(person, session, context)


@router.post("/people")
async def invite(request: Request, session: SessionDep, context: ContextDep) -> Response:
    return await answer_post(
        request,
        session,
        lambda person, form: _invite(session, context, person, form),
        need=Role.OWNER,
    )


def _invite(
    session: Session, context: ServiceContext, person: Person, form: dict[str, str]
) -> Response:
    values = {name: form.get(name, "").strip() for name in ("name", "email", "role")}
    password = users.one_time_password()
    try:
        user = users.create_user(
            session,
            email=values["email"],
            name=values["name"],
            role=users.parse_role(values["role"]),
            password=password,
            temporary=True,
        )
    except (InvalidInput, Conflict) as error:
        session.rollback()
        errors = {INVITE_FIELD.get(error.code, GENERAL): error.message}
        return people_page(
            person, session, context, invite=values, errors=errors, status=error.status_code
        )
    log.info("person_invited", user_id=user.id, role=user.role, by_user_id=person.user_id)
    shown = OneTimePassword(user.name, user.email, password, invited=True)
    return people_page(person, session, context, shown=shown)


@router.post("/people/{user_id}/{verb}")
async def change_person(
    user_id: str, verb: str, request: Request, session: SessionDep, context: ContextDep
) -> Response:
    return await answer_post(
        request,
        session,
        lambda person, form: _change(session, context, person, user_id, verb, form),
        need=Role.OWNER,
    )


def _change(
    session: Session,
    context: ServiceContext,
    person: Person,
    text_id: str,
    verb: str,
    form: dict[str, str],
) -> Response:
    try:
        user = users.get_user_by_id(session, path_id(text_id, "person"))
    except NotFound as error:
        return problem_page(error)
    try:
        if verb == "role":
            role = users.parse_role(form.get("role", ""))
            users.check_keeps_an_owner(session, user, new_role=role)
            users.set_role(session, user.email, role)
            log.info("role_changed", user_id=user.id, role=role.value, by_user_id=person.user_id)
            if user.id == person.user_id and role is not Role.OWNER:
                return done("/")  # no longer an owner: the People page is not theirs now
        elif verb == "disable":
            _not_yourself(person, user, "disable yourself: another owner can")
            users.check_keeps_an_owner(session, user)
            _, ended = users.disable_user(session, user.email)
            log.info(
                "person_disabled", user_id=user.id, sessions_ended=ended, by_user_id=person.user_id
            )
        elif verb == "enable":
            users.enable_user(session, user.email)
            log.info("person_enabled", user_id=user.id, by_user_id=person.user_id)
        elif verb == "reset-password":
            _not_yourself(person, user, "give yourself a one-time password: use My account")
            password = users.one_time_password()
            _, ended = users.reset_password(session, user.email, password, temporary=True)
            log.info(
                "password_reset", user_id=user.id, sessions_ended=ended, by_user_id=person.user_id
            )
            shown = OneTimePassword(user.name, user.email, password, invited=False)
            return people_page(person, session, context, shown=shown)
        else:
            return problem_page(
                NotFound(
                    "A person's role can be changed here, or they can be disabled, enabled "
                    "or given a new password.",
                    code="not_found",
                )
            )
    except (InvalidInput, Conflict) as error:
        session.rollback()
        return people_page(
            person, session, context, row_error=(user.id, error.message), status=error.status_code
        )
    return done(f"/people#person-{user.id}")


def _not_yourself(person: Person, user: User, what: str) -> None:
    if user.id == person.user_id:
        raise Conflict(f"You cannot {what}.", code="not_on_yourself")
