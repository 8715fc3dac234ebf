"""People's fixtures: the app as served with a person of each role, and a session clock the
tests can move (see people_helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hardened_app import hardened_app
from leak_guard import CheckedClient
from people_helpers import EMAILS, NAMES, PASSWORDS, Clock, People, add_probe

from app.api.context import ServiceContext
from app.db import Database
from app.people import sessions
from app.people.principal import Role
from app.people.users import create_user
from app.settings import Settings


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock()
    monkeypatch.setattr(sessions, "now", moving)
    return moving


@pytest.fixture
def people(settings: Settings, db: Database) -> Iterator[People]:
    context = ServiceContext.build(settings, db=db)
    with db.session() as session:
        for role in Role:
            create_user(
                session, email=EMAILS[role], name=NAMES[role], role=role, password=PASSWORDS[role]
            )
    app = hardened_app(context)
    add_probe(app)
    opened: list[CheckedClient] = []

    def client_from(address: str = "testclient", **options: Any) -> CheckedClient:
        client = CheckedClient(app, client=(address, 50000), **options)
        opened.append(client.__enter__())
        return client

    try:
        yield People(context, app, client_from(), client_from)
    finally:
        for client in opened:
            client.__exit__(None, None, None)
