"""Passwords are stored only as argon2id hashes (never in clear, never as a fast hash),
rehashed at sign-in when the parameters have changed, and checked as long as a real one
for an address with no account; sessions are stored only as the SHA-256 of their token."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from argon2 import PasswordHasher
from leak_guard import LOG_COLLECTOR, find_leaks, leak_forms
from people_helpers import EMAILS, PASSWORDS, People, sign_in, signed_in_as
from sqlalchemy import text

from app.people import passwords
from app.people.models import User
from app.people.principal import Role


def every_stored_text(people: People) -> str:
    """Every value of the people tables, as text."""
    with people.db.session() as session:
        rows = [
            *session.execute(text("SELECT * FROM users")),
            *session.execute(text("SELECT * FROM web_sessions")),
        ]
    return "\n".join(str(value) for row in rows for value in row)


def fast_hashes(secret: str) -> set[str]:
    raw = secret.encode()
    digests = {hashlib.new(name, raw).hexdigest() for name in ("md5", "sha1", "sha256", "sha512")}
    return digests | {secret}


def test_a_password_is_stored_only_as_an_argon2id_hash(people: People) -> None:
    with people.db.session() as session:
        stored = {user.email: user.password_hash for user in session.query(User)}

    assert all(value.startswith("$argon2id$") for value in stored.values())
    everything = every_stored_text(people)
    for password in PASSWORDS.values():
        assert not find_leaks(everything, fast_hashes(password) | leak_forms(password))


def test_a_session_is_stored_only_as_the_sha256_of_its_token(people: People) -> None:
    token = signed_in_as(people.client, Role.EDITOR)

    everything = every_stored_text(people)
    assert hashlib.sha256(token.encode()).hexdigest() in everything
    assert not find_leaks(everything, leak_forms(token))


def test_no_password_or_session_token_reaches_a_response_or_a_log(people: People) -> None:
    LOG_COLLECTOR.lines.clear()
    # Every response of CheckedClient is checked for the registered secrets already; the
    # passwords and each token are registered (people_helpers).
    token = signed_in_as(people.client, Role.OWNER)
    sign_in(people.client_from(), EMAILS[Role.EDITOR], PASSWORDS[Role.VIEWER])  # wrong one
    for path in ("/", "/kpis", "/api/v1/goals", "/api/v1/health"):
        people.client.get(path)
    people.client.post("/logout")

    logs = "\n".join(LOG_COLLECTOR.lines)
    assert "signed_in" in logs and "sign_in_refused" in logs  # the log saw them
    for secret in (*PASSWORDS.values(), token):
        assert not find_leaks(logs, leak_forms(secret))


def test_an_older_hash_is_replaced_at_the_next_sign_in(people: People) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    email = EMAILS[Role.VIEWER]
    with people.db.session() as session:
        user = session.query(User).filter_by(email=email).one()
        user.password_hash = weak.hash(PASSWORDS[Role.VIEWER])

    assert sign_in(people.client, email, PASSWORDS[Role.VIEWER]).status_code == 303

    with people.db.session() as session:
        renewed = session.query(User).filter_by(email=email).one().password_hash
    assert renewed.startswith("$argon2id$") and "m=8192" not in renewed
    assert not passwords.HASHER.check_needs_rehash(renewed)
    assert sign_in(people.client_from(), email, PASSWORDS[Role.VIEWER]).status_code == 303


def test_an_unknown_address_costs_a_password_check_too(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: Any, password: Any) -> bool:
            checked.append("verify")
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Counting())
    sign_in(people.client, "nobody@example.com", "some passphrase 123")
    sign_in(people.client, EMAILS[Role.EDITOR], "some passphrase 123")

    assert checked == ["verify", "verify"]  # one argon2 check each, account or not


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("eleven char", "password_too_short"),
        ("x" * 201, "password_too_long"),
        ("Editor@Example.com", "password_too_obvious"),
        ("eddie editor", "password_too_obvious"),
    ],
)
def test_the_password_rules(password: str, code: str) -> None:
    with pytest.raises(passwords.PasswordRefused) as refused:
        passwords.check_password_rules(password, email="editor@example.com", name="Eddie Editor")
    assert refused.value.code == code and refused.value.status_code == 422
