"""The People page and My account through the real app, signed in with e-mail and password:
an owner invites an editor, whose one-time password (shown once, never in an address, a log
or the database in clear) signs them in; they change it on /account and the old one stops
working; a reset and a disable end the person's sessions; the last owner keeps the role; and
every refusal (an editor's or a viewer's page and hand-sent posts, a bad CSRF token). Until a
person given a one-time password (invited or reset) chooses their own, /account is the only
page they may use; someone created with `northstar user create` is not held there."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest
from _pytest.monkeypatch import MonkeyPatch
from hardened_app import hardened_app
from leak_guard import LOG_COLLECTOR, CheckedClient, find_leaks, leak_forms, register_known_secrets
from sqlalchemy import select, text

from app.api.context import ServiceContext
from app.cli import main
from app.db import Database
from app.people.models import User
from app.people.principal import Role
from app.people.sessions import SESSION_COOKIE
from app.people.users import create_user
from app.settings import Settings, get_settings

PASSWORDS = {
    Role.OWNER: "owner page passphrase 71c3",
    Role.EDITOR: "editor page passphrase 5d9a",
    Role.VIEWER: "viewer page passphrase 2e6f",
}
EMAILS = {role: f"{role.value}.page@example.com" for role in Role}
NAMES = {Role.OWNER: "Oona Owner", Role.EDITOR: "Ed Editor", Role.VIEWER: "Val Viewer"}
register_known_secrets(*PASSWORDS.values())
TOKEN = re.compile(r"name='csrf_token' value='([^']+)'")
ONE_TIME = re.compile(r"<code class='one-time-password'>([^<]+)</code>")
INVITED = ("sam@example.com", "Sam Lee")
OWN_PASSWORD_NOTE = "Choose your own password: the one you were given works only until then."
AN_OBJECTIVE = {"title": "A calmer team", "weight": "1"}


@dataclass
class Team:
    context: ServiceContext
    app: Any
    opened: list[CheckedClient]

    def browser(self) -> CheckedClient:
        client = CheckedClient(self.app)
        self.opened.append(client.__enter__())
        return client

    def signed_in(self, email: str, password: str) -> CheckedClient:
        client = self.browser()
        assert sign_in(client, email, password).status_code == 303
        register_known_secrets(str(client.cookies.get(SESSION_COOKIE)))
        return client

    def as_role(self, role: Role) -> CheckedClient:
        return self.signed_in(EMAILS[role], PASSWORDS[role])

    def user(self, email: str) -> User:
        with self.context.db.session() as session:
            user = session.scalar(select(User).where(User.email == email))
            assert user is not None
            session.expunge(user)
            return user


@pytest.fixture
def team(settings: Settings, db: Database) -> Iterator[Team]:
    context = ServiceContext.build(settings, db=db)
    with db.session() as session:
        for role in Role:
            create_user(
                session, email=EMAILS[role], name=NAMES[role], role=role, password=PASSWORDS[role]
            )
    made = Team(context, hardened_app(context), [])
    try:
        yield made
    finally:
        for client in made.opened:
            client.__exit__(None, None, None)


def sign_in(client: CheckedClient, email: str, password: str) -> Any:
    return client.post(
        "/login", data={"email": email, "password": password}, follow_redirects=False
    )


def words(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def post(client: CheckedClient, url: str, fields: dict[str, str], token: str | None = None) -> Any:
    if token is None:
        found = TOKEN.search(client.get("/account").text)
        assert found, "no form token on /account"
        token = found.group(1)
    return client.post(url, data={"csrf_token": token, **fields}, follow_redirects=False)


def error_of(html: str, name: str) -> str:
    found = re.search(rf"id='{name}-error'>([^<]+)<", html)
    assert found, f"no message next to {name}"
    return unescape(found.group(1))


def every_stored_text(team: Team) -> str:
    with team.context.db.session() as session:
        rows = [
            *session.execute(text("SELECT * FROM users")),
            *session.execute(text("SELECT * FROM web_sessions")),
        ]
    return "\n".join(str(value) for row in rows for value in row)


def in_clear(secret: str) -> set[str]:
    """The password and its spellings, and the fast hashes it must never be stored as."""
    raw = secret.encode()
    fast = {hashlib.new(name, raw).hexdigest() for name in ("md5", "sha1", "sha256")}
    return leak_forms(secret) | fast


def invite(owner: CheckedClient, role: str = "editor") -> tuple[Any, str]:
    """Invite Sam Lee; returns the answer and the one-time password it showed (registered
    from then on as a secret no later response or log line may carry)."""
    answer = post(owner, "/people", {"name": INVITED[1], "email": INVITED[0], "role": role})
    assert answer.status_code == 200, answer.text
    found = ONE_TIME.search(answer.text)
    assert found, "the one-time password is shown"
    password = unescape(found.group(1))
    register_known_secrets(password)
    return answer, password


def test_an_invited_editor_signs_in_and_changes_the_one_time_password(team: Team) -> None:
    LOG_COLLECTOR.lines.clear()
    owner = team.as_role(Role.OWNER)
    assert "<a href='/people'>People</a>" in owner.get("/").text

    answer, one_time = invite(owner)

    assert len(one_time) >= 16
    assert answer.headers["cache-control"] == "no-store"
    assert one_time not in str(answer.url)
    people = words(owner.get("/people").text)  # shown once: not on the page again
    assert "Sam Lee sam@example.com editor Active" in people
    stored = every_stored_text(team)
    assert team.user(INVITED[0]).password_hash.startswith("$argon2id$")
    assert not find_leaks(stored, in_clear(one_time))

    sam = team.signed_in(INVITED[0], one_time)
    home = sam.get("/account").text
    assert "<a href='/account'>My account</a>" in home and "href='/people'" not in home
    new = "sam's own passphrase 8b1e"
    register_known_secrets(new)
    other_sam = team.signed_in(INVITED[0], one_time)
    changed = post(
        sam,
        "/account",
        {"current_password": one_time, "new_password": new, "new_password_again": new},
    )

    assert (changed.status_code, changed.headers["location"]) == (303, "/account?changed=1")
    assert "Your password is changed" in words(sam.get(changed.headers["location"]).text)
    assert other_sam.get("/").status_code == 401  # their other sign-in ended
    assert sign_in(team.browser(), INVITED[0], one_time).status_code == 401
    assert sign_in(team.browser(), INVITED[0], new).status_code == 303
    assert not find_leaks(every_stored_text(team), in_clear(new) | in_clear(one_time))
    logs = "\n".join(LOG_COLLECTOR.lines)
    assert "person_invited" in logs and "password_changed" in logs
    assert not find_leaks(logs, leak_forms(one_time) | leak_forms(new))


def test_a_refused_password_change_says_why_next_to_the_field(team: Team) -> None:
    editor = team.as_role(Role.EDITOR)
    current = PASSWORDS[Role.EDITOR]
    cases = {
        "current_password": ("not my password at all", "long enough pass", "long enough pass"),
        "new_password_again": (current, "long enough pass", "long enough pas"),
        "new_password": (current, "short", "short"),
    }
    for name, (typed, new, again) in cases.items():
        fields = {"current_password": typed, "new_password": new, "new_password_again": again}
        refused = post(editor, "/account", fields)
        assert refused.status_code == 422, name
        assert error_of(refused.text, name)
        assert "value=''" in refused.text and typed not in refused.text  # nothing typed drawn

    assert sign_in(team.browser(), EMAILS[Role.EDITOR], current).status_code == 303


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_only_an_owner_sees_the_people_page_or_changes_anyone(team: Team, role: Role) -> None:
    person = team.as_role(role)
    target = team.user(EMAILS[Role.OWNER]).id

    page = person.get("/people")
    assert page.status_code == 403 and "Only an owner" in words(page.text)
    assert "href='/people'" not in person.get("/").text
    for url, fields in (
        ("/people", {"name": "Mallory", "email": "mallory@example.com", "role": "owner"}),
        (f"/people/{target}/role", {"role": "viewer"}),
        (f"/people/{target}/disable", {}),
        (f"/people/{target}/reset-password", {}),
    ):
        assert post(person, url, fields).status_code == 403, url

    owner = team.user(EMAILS[Role.OWNER])
    assert (owner.role, owner.disabled_at) == ("owner", None)
    assert sign_in(team.browser(), EMAILS[Role.OWNER], PASSWORDS[Role.OWNER]).status_code == 303
    with team.context.db.session() as session:
        assert session.scalar(select(User).where(User.email == "mallory@example.com")) is None


@pytest.mark.parametrize("token", ["", "0" * 64, None])
def test_a_post_without_this_browsers_token_is_refused(team: Team, token: str | None) -> None:
    owner = team.as_role(Role.OWNER)
    fields = {"name": INVITED[1], "email": INVITED[0], "role": "editor"}
    sent = fields if token is None else {"csrf_token": token, **fields}

    refused = owner.post("/people", data=sent, follow_redirects=False)

    assert refused.status_code == 403
    with team.context.db.session() as session:
        assert session.scalar(select(User).where(User.email == INVITED[0])) is None


def test_disabling_someone_ends_their_session_until_enabled(team: Team) -> None:
    owner = team.as_role(Role.OWNER)
    editor = team.as_role(Role.EDITOR)
    target = team.user(EMAILS[Role.EDITOR]).id

    disabled = post(owner, f"/people/{target}/disable", {})

    assert (disabled.status_code, disabled.headers["location"]) == (303, f"/people#person-{target}")
    assert "Ed Editor editor.page@example.com editor Disabled" in words(owner.get("/people").text)
    ended = editor.get("/")
    assert ended.status_code == 401 and "You were signed out" in words(ended.text)
    assert sign_in(team.browser(), EMAILS[Role.EDITOR], PASSWORDS[Role.EDITOR]).status_code == 401
    assert post(owner, f"/people/{target}/enable", {}).status_code == 303
    assert sign_in(team.browser(), EMAILS[Role.EDITOR], PASSWORDS[Role.EDITOR]).status_code == 303


def test_a_reset_shows_a_new_one_time_password_and_signs_the_person_out(team: Team) -> None:
    owner = team.as_role(Role.OWNER)
    viewer = team.as_role(Role.VIEWER)
    target = team.user(EMAILS[Role.VIEWER]).id

    answer = post(owner, f"/people/{target}/reset-password", {})

    assert answer.status_code == 200
    found = ONE_TIME.search(answer.text)
    assert found and "Val Viewer is given a new password" in words(answer.text)
    one_time = unescape(found.group(1))
    register_known_secrets(one_time)
    assert viewer.get("/").status_code == 401
    assert sign_in(team.browser(), EMAILS[Role.VIEWER], PASSWORDS[Role.VIEWER]).status_code == 401
    assert sign_in(team.browser(), EMAILS[Role.VIEWER], one_time).status_code == 303
    assert not find_leaks(every_stored_text(team), in_clear(one_time))


def test_the_last_owner_keeps_the_role_and_no_owner_disables_themselves(team: Team) -> None:
    owner = team.as_role(Role.OWNER)
    me = team.user(EMAILS[Role.OWNER]).id

    demoted = post(owner, f"/people/{me}/role", {"role": "editor"})
    assert demoted.status_code == 409
    assert "Oona Owner is the last owner who can sign in" in words(demoted.text)
    itself = post(owner, f"/people/{me}/disable", {})
    assert itself.status_code == 409 and "You cannot disable yourself" in words(itself.text)
    assert (team.user(EMAILS[Role.OWNER]).role, team.user(EMAILS[Role.OWNER]).disabled_at) == (
        "owner",
        None,
    )

    # With a second owner, the first may step down (and the People page is no longer theirs).
    editor = team.user(EMAILS[Role.EDITOR]).id
    assert post(owner, f"/people/{editor}/role", {"role": "owner"}).status_code == 303
    stepped_down = post(owner, f"/people/{me}/role", {"role": "editor"})
    assert (stepped_down.status_code, stepped_down.headers["location"]) == (303, "/")
    assert owner.get("/people").status_code == 403


def test_a_refused_invite_says_why_next_to_the_field_and_keeps_what_was_typed(
    team: Team,
) -> None:
    owner = team.as_role(Role.OWNER)

    bad = post(owner, "/people", {"name": "Sam Lee", "email": "sam at example", "role": "editor"})
    assert bad.status_code == 422
    assert "is not an e-mail address" in error_of(bad.text, "email")
    assert "value='Sam Lee'" in bad.text and "value='sam at example'" in bad.text
    taken = post(owner, "/people", {"name": "Other", "email": EMAILS[Role.VIEWER], "role": "x"})
    assert taken.status_code == 422 and "is not a role" in error_of(taken.text, "role")
    taken = post(owner, "/people", {"name": "Other", "email": EMAILS[Role.VIEWER], "role": "owner"})
    assert taken.status_code == 409 and "already a person" in error_of(taken.text, "email")
    assert ONE_TIME.search(bad.text) is None and ONE_TIME.search(taken.text) is None


def objectives_titled(team: Team, title: str) -> Any:
    with team.context.db.session() as session:
        return session.scalar(text("SELECT count(*) FROM objectives WHERE title=:t"), {"t": title})


def assert_held_on_account(team: Team, person: CheckedClient) -> None:
    """`person` lands on /account, is sent back there, and a plan form post is refused."""
    landing = person.get("/")
    assert (landing.status_code, landing.url.path) == (200, "/account")
    assert OWN_PASSWORD_NOTE in words(landing.text)
    for url in ("/", "/plan", "/kpis", "/plan/objectives/new", "/people"):
        sent = person.get(url, follow_redirects=False)
        assert (sent.status_code, sent.headers["location"]) == (303, "/account"), url
    refused = post(person, "/plan/objectives", AN_OBJECTIVE)
    assert refused.status_code == 403
    assert "Choose your own password on My account first" in words(refused.text)
    assert objectives_titled(team, AN_OBJECTIVE["title"]) == 0
    assert person.get("/api/v1/alignment").json()["code"] == "own_password_first"


def choose_own_password(person: CheckedClient, given: str, own: str) -> None:
    register_known_secrets(own)
    fields = {"current_password": given, "new_password": own, "new_password_again": own}
    changed = post(person, "/account", fields)
    assert (changed.status_code, changed.headers["location"]) == (303, "/account?changed=1")
    assert OWN_PASSWORD_NOTE not in words(person.get("/account").text)


def test_an_invited_person_is_held_on_my_account_until_choosing_a_password(team: Team) -> None:
    owner = team.as_role(Role.OWNER)
    _answer, one_time = invite(owner)
    assert team.user(INVITED[0]).password_is_temporary

    sam = team.signed_in(INVITED[0], one_time)
    assert_held_on_account(team, sam)

    choose_own_password(sam, one_time, "sam's very own passphrase 3c7d")

    assert not team.user(INVITED[0]).password_is_temporary
    home = sam.get("/", follow_redirects=False)
    assert home.status_code == 200 and "<a href='/account'>My account</a>" in home.text
    assert post(sam, "/plan/objectives", AN_OBJECTIVE).status_code == 303


def test_a_reset_holds_the_person_on_my_account_and_signing_out_works(team: Team) -> None:
    owner = team.as_role(Role.OWNER)
    target = team.user(EMAILS[Role.EDITOR]).id
    answer = post(owner, f"/people/{target}/reset-password", {})
    found = ONE_TIME.search(answer.text)
    assert answer.status_code == 200 and found
    one_time = unescape(found.group(1))
    register_known_secrets(one_time)

    leaving = team.signed_in(EMAILS[Role.EDITOR], one_time)
    assert leaving.post("/logout", follow_redirects=False).status_code == 303
    assert "Sign in with your e-mail address" in words(leaving.get("/").text)

    editor = team.signed_in(EMAILS[Role.EDITOR], one_time)
    assert_held_on_account(team, editor)
    choose_own_password(editor, one_time, "ed's own passphrase again 9f04")
    assert editor.get("/", follow_redirects=False).status_code == 200
    assert post(editor, "/plan/objectives", AN_OBJECTIVE).status_code == 303


def test_someone_made_with_the_cli_is_not_held_on_my_account(
    team: Team, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("NORTHSTAR_DEV_KEY_FILE", str(settings.dev_key_file))
    get_settings.cache_clear()
    chosen, again = "cli typed passphrase 4a2b", "cli typed passphrase 7e1c"
    register_known_secrets(chosen, again)
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO(chosen + "\n"))
        argv = ["user", "create", "--email", "cli@example.com", "--name", "Cleo Cli"]
        assert main([*argv, "--role", "editor", "--password-stdin"]) == 0
        cleo = team.signed_in("cli@example.com", chosen)
        assert cleo.get("/", follow_redirects=False).status_code == 200

        # A People page reset makes it temporary; the CLI's, typed by whoever runs it, not.
        owner = team.as_role(Role.OWNER)
        target = team.user("cli@example.com").id
        assert post(owner, f"/people/{target}/reset-password", {}).status_code == 200
        assert team.user("cli@example.com").password_is_temporary
        monkeypatch.setattr("sys.stdin", io.StringIO(again + "\n"))
        reset = ["user", "reset-password", "--email", "cli@example.com", "--password-stdin"]
        assert main(reset) == 0
    finally:
        get_settings.cache_clear()
    assert not team.user("cli@example.com").password_is_temporary
    assert team.signed_in("cli@example.com", again).get("/plan").url.path == "/plan"
