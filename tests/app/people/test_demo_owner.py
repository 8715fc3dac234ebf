"""`make demo` makes an owner who can plan in the browser: the password it prints signs in,
and the next demo's new password replaces it."""

from __future__ import annotations

from sqlalchemy import select

from app.db import Database
from app.demo import DEMO_OWNER_EMAIL, demo_owner
from app.people.models import User
from app.people.passwords import verify_password
from app.people.principal import Role


def stored(db: Database) -> User:
    with db.session() as session:
        user = session.scalars(select(User).where(User.email == DEMO_OWNER_EMAIL)).one()
        session.expunge(user)
        return user


def test_each_demo_gives_the_owner_a_new_password(db: Database) -> None:
    with db.session() as session:
        first = demo_owner(session)
    owner = stored(db)
    assert owner.role == Role.OWNER and owner.disabled_at is None
    assert verify_password(owner.password_hash, first).ok
    assert first not in owner.password_hash  # hashed, never kept as typed

    with db.session() as session:
        second = demo_owner(session)
    again = stored(db)
    assert again.id == owner.id and second != first
    assert verify_password(again.password_hash, second).ok
    assert not verify_password(again.password_hash, first).ok
