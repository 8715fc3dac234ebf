"""Signing in with an e-mail address and a password, through the real app: the session
cookie and its flags, signing out, idle and absolute expiry, revocation, and what the
session cookie opens in the API (reads, never changes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from people_helpers import EMAILS, NAMES, PASSWORDS, Clock, People, sign_in, signed_in_as
from sqlalchemy import select

from app.api.deps import COOKIE_NAME
from app.people.models import WebSession
from app.people.principal import Role
from app.people.sessions import SESSION_COOKIE, csrf_token_for, hash_token
from app.people.users import disable_user, reset_password
from app.security.apikeys import create_api_key
from app.security.models import KeyScope

SIGNED_IN = "Northstar scorecard"  # the header of every signed-in page


def session_row(people: People, token: str) -> WebSession:
    with people.db.session() as session:
        row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
        assert row is not None
        session.expunge(row)
        return row


def test_a_person_signs_in_sees_the_pages_and_signs_out(people: People) -> None:
    browser = people.client
    assert "action='/login'" in browser.get("/kpis").text  # the form, before signing in

    response = sign_in(browser, "  Editor@Example.com ", PASSWORDS[Role.EDITOR])
    assert response.status_code == 303 and response.headers["location"] == "/"
    token = browser.cookies.get(SESSION_COOKIE)
    assert token
    page = browser.get("/kpis")
    assert page.status_code == 200 and SIGNED_IN in page.text
    overview = browser.get("/").text
    assert f"{NAMES[Role.EDITOR]} (editor)" in overview  # the header says who is signed in
    assert f"name='csrf_token' value='{csrf_token_for(token)}'" in overview  # in Sign out too

    assert browser.post("/logout", follow_redirects=False).status_code == 303
    assert session_row(people, token).revoked_at is not None
    assert browser.cookies.get(SESSION_COOKIE) is None
    # A copy of the cookie kept elsewhere is useless once signed out.
    copy = people.client_from()
    copy.cookies.set(SESSION_COOKIE, token)
    ended = copy.get("/kpis")
    assert ended.status_code == 401 and "signed out" in ended.text
    assert f'{SESSION_COOKIE}=""' in ended.headers["set-cookie"]  # and forgotten


def test_the_session_cookie_is_httponly_lax_and_secure_behind_https(people: People) -> None:
    plain = sign_in(people.client, EMAILS[Role.VIEWER], PASSWORDS[Role.VIEWER])
    cookie = plain.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie

    https = people.client_from(base_url="https://northstar.example.com")
    over_tls = sign_in(https, EMAILS[Role.VIEWER], PASSWORDS[Role.VIEWER])
    assert "Secure" in over_tls.headers["set-cookie"]

    # Behind a TLS-terminating proxy the request says http; the public address says https.
    people.context.settings = people.context.settings.model_copy(
        update={"public_base_url": "https://northstar.example.com"}
    )
    proxied = sign_in(people.client_from(), EMAILS[Role.VIEWER], PASSWORDS[Role.VIEWER])
    assert "Secure" in proxied.headers["set-cookie"]


def test_every_failure_gets_the_same_answer(people: People) -> None:
    with people.db.session() as session:
        disable_user(session, EMAILS[Role.VIEWER])
    answers = [
        sign_in(people.client, EMAILS[Role.EDITOR], "not the password at all"),
        sign_in(people.client, "nobody@example.com", "not the password at all"),
        sign_in(people.client, EMAILS[Role.VIEWER], PASSWORDS[Role.VIEWER]),  # disabled
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    messages = {a.text.split("class='status off_track'>")[1].split("<")[0] for a in answers}
    assert len(messages) == 1 and "do not match anyone who may sign in" in messages.pop()
    assert all(SESSION_COOKIE not in a.headers.get("set-cookie", "") for a in answers)
    assert "value='editor@example.com'" in answers[0].text  # the address is kept, not the password


def test_an_idle_session_expires(people: People, clock: Clock) -> None:
    token = signed_in_as(people.client, Role.EDITOR)
    clock.advance(hours=11, minutes=59)
    assert people.client.get("/kpis").status_code == 200  # a visit: idle from here again
    clock.advance(hours=11, minutes=59)
    assert people.client.get("/kpis").status_code == 200
    clock.advance(hours=12, seconds=1)

    expired = people.client.get("/kpis")
    assert expired.status_code == 401 and "Your sign-in has expired" in expired.text
    assert people.client.cookies.get(SESSION_COOKIE) is None
    assert session_row(people, token).revoked_at is None  # expired, not signed out


def test_a_session_ends_after_its_longest_life_however_active(people: People, clock: Clock) -> None:
    signed_in_as(people.client, Role.EDITOR)
    statuses = []
    for _ in range(14 * 2):  # a visit every 12 hours less a minute, for 14 days
        clock.advance(hours=11, minutes=59)
        statuses.append(people.client.get("/kpis").status_code)
    assert set(statuses) == {200}
    clock.advance(hours=1)  # 14 days and 32 minutes after signing in

    assert people.client.get("/kpis").status_code == 401


def test_last_seen_is_written_at_most_once_a_minute(people: People, clock: Clock) -> None:
    token = signed_in_as(people.client, Role.VIEWER)
    began = session_row(people, token).last_seen_at

    clock.advance(seconds=30)
    people.client.get("/kpis")
    assert session_row(people, token).last_seen_at == began
    clock.advance(seconds=31)
    people.client.get("/kpis")
    assert session_row(people, token).last_seen_at - began == timedelta(seconds=61)


@pytest.mark.parametrize("how", ["disable", "reset-password"])
def test_disabling_or_a_new_password_ends_every_session(people: People, how: str) -> None:
    laptop, phone = people.client_from(), people.client_from()
    signed_in_as(laptop, Role.EDITOR)
    signed_in_as(phone, Role.EDITOR)
    signed_in_as(people.client, Role.VIEWER)  # someone else

    with people.db.session() as session:
        if how == "disable":
            _user, ended = disable_user(session, EMAILS[Role.EDITOR])
        else:
            _user, ended = reset_password(session, EMAILS[Role.EDITOR], "another passphrase 77")

    assert ended == 2
    assert laptop.get("/kpis").status_code == 401 and phone.get("/kpis").status_code == 401
    assert people.client.get("/kpis").status_code == 200


def test_the_session_opens_the_api_for_reading_but_not_for_changes(people: People) -> None:
    signed_in_as(people.client, Role.OWNER)

    goals = people.client.get("/api/v1/goals")
    csv = people.client.get("/api/v1/alignment", params={"format": "csv"})
    change = people.client.post("/api/v1/objectives", json={"title": "Sneaky"})
    empty_change = people.client.delete("/api/v1/objectives/1")

    assert goals.status_code == 200 and csv.status_code == 200
    assert change.status_code in (401, 403)  # even an owner: changes need a key in a header
    assert empty_change.status_code == 403
    assert empty_change.json()["code"] == "api_key_header_required"
    people.client.post("/logout")
    assert people.client.get("/api/v1/goals").status_code == 401


def test_an_api_key_still_signs_in_read_only_and_hands_over_to_a_password(
    people: People,
) -> None:
    with people.db.session() as session:
        key = create_api_key(session, name="wall screen", scope=KeyScope.ADMIN).key
    browser = people.client
    signed = browser.post("/login", data={"api_key": key}, follow_redirects=False)
    assert signed.status_code == 303 and "SameSite=strict" in signed.headers["set-cookie"]
    assert browser.get("/kpis").status_code == 200

    signed_in_as(browser, Role.EDITOR)
    assert browser.cookies.get(COOKIE_NAME) is None  # one way in at a time
    assert browser.post("/logout", follow_redirects=False).status_code == 303
    assert not browser.cookies


def test_the_sign_in_page_offers_both_ways_in(people: People) -> None:
    page = people.client.get("/").text
    assert page.count("<form method='post' action='/login'>") == 2
    assert "id='email'" in page and "id='password'" in page and "id='api_key'" in page
    assert NAMES[Role.OWNER] not in page
