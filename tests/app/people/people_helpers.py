"""What the people tests share: people of each role and their passwords, a session clock
the tests can move, the app as served plus one probe route that posts a form the way the
planning pages do, and signing in as a browser does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from leak_guard import CheckedClient, register_known_secrets

from app.api.context import ServiceContext
from app.api.deps import SessionDep
from app.db import Database, utcnow
from app.errors import NorthstarError
from app.people import sessions
from app.people.principal import Role
from app.people.web import check_form, forbidden_page, read_form, signed_in_person

PASSWORDS = {
    Role.OWNER: "owner passphrase 4f7a",
    Role.EDITOR: "editor passphrase 9c2e",
    Role.VIEWER: "viewer passphrase 1b8d",
}
EMAILS = {role: f"{role.value}@example.com" for role in Role}
NAMES = {Role.OWNER: "Olive Owner", Role.EDITOR: "Eddie Editor", Role.VIEWER: "Vera Viewer"}
register_known_secrets(*PASSWORDS.values())


class Clock:
    """The sessions' `now`, moved by the test."""

    def __init__(self) -> None:
        self.moment = utcnow()

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


def add_probe(app: FastAPI) -> None:
    """`POST /probe/form?need=editor`: the pages' form path (signed in, read, checked)."""

    @app.post("/probe/form")
    async def probe(request: Request, session: SessionDep) -> Response:
        person = signed_in_person(request, session)
        if isinstance(person, Response):
            return person
        try:
            form = await read_form(request, max_bytes=1024)
            check_form(person, form, need=Role(request.query_params.get("need", "editor")))
        except NorthstarError as error:
            if error.status_code == 403:
                return forbidden_page(error)
            return HTMLResponse(error.message, status_code=error.status_code)
        return JSONResponse({"by": person.name, "role": person.role.value, "form": form})


@dataclass
class People:
    context: ServiceContext
    app: FastAPI
    client: CheckedClient
    client_from: Callable[..., CheckedClient]

    @property
    def db(self) -> Database:
        return self.context.db


def sign_in(client: CheckedClient, email: str, password: str, **headers: str) -> Any:
    """The sign-in form, posted as a browser does."""
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers=headers,
        follow_redirects=False,
    )


def signed_in_as(client: CheckedClient, role: Role) -> str:
    """Sign `client` in as the person of `role`; returns the session token (registered as
    a secret that no response or log line may carry)."""
    response = sign_in(client, EMAILS[role], PASSWORDS[role])
    assert response.status_code == 303, response.text
    token = client.cookies.get(sessions.SESSION_COOKIE)
    assert token
    register_known_secrets(token)
    return str(token)


def csrf_of(token: str) -> str:
    return sessions.csrf_token_for(token)
