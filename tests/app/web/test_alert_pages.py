"""The alerts pages through the real app, signed in (e-mail and password) as the owner, an
editor and a viewer: the owner adds a Teams channel pointing at a real HTTP receiver on
loopback and sends a test message that arrives, then finds it in the channel's delivery
history; a channel that refuses shows as failed with the reason; an editor adds, switches
off and deletes a rule but is refused (403) every channel form; a viewer sees no form and
is refused every post sent by hand; a post without this browser's CSRF token is refused;
a refused channel form shows the API's message next to its field (422) with what was typed
kept, but never the URL or the secret. No page ever holds a channel's URL or secret (every
response is also checked by CheckedClient, which knows them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest
from leak_guard import CheckedClient, find_leaks, leak_forms, register_known_secrets

from app.people.principal import Role
from app.people.users import create_user
from tests.app.alerts.alert_receivers import http_receiver

OWNER = ("olga@example.com", "Olga Owner", "owner password long enough")
EDITOR = ("eddie@example.com", "Eddie Editor", "editor password long enough")
VIEWER = ("vera@example.com", "Vera Viewer", "viewer password long enough")
TOKEN = re.compile(r"name='csrf_token' value='([^']+)'")
TEAMS_PATH = "/workflows/3f9b2d7e1c/triggers/manual/run?sig=Pq8vWm4zRt6yKx2N"
WEBHOOK_SECRET = "whsec-pages-5b7d9f1a3c"
register_known_secrets(TEAMS_PATH, WEBHOOK_SECRET)
SECRET_FORMS = {form for secret in (TEAMS_PATH, WEBHOOK_SECRET) for form in leak_forms(secret)}


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


class Browser:
    """One signed-in browser: its client, and every page it was answered (for leaks)."""

    def __init__(self, client: Any, email: str, password: str) -> None:
        self.client = client
        self.pages: list[str] = []
        signed_in = client.post(
            "/login", data={"email": email, "password": password}, follow_redirects=False
        )
        assert signed_in.status_code == 303, signed_in.text

    def get(self, url: str) -> Any:
        response = self.client.get(url)
        self.pages.append(response.text)
        return response

    def token(self) -> str:
        found = TOKEN.search(self.get("/alerts").text)
        assert found, "no form token on /alerts"
        return found.group(1)

    def post(self, url: str, fields: dict[str, str] | None = None, token: str | None = None) -> Any:
        data = {"csrf_token": self.token() if token is None else token, **(fields or {})}
        response = self.client.post(url, data=data, follow_redirects=False)
        self.pages.append(response.text)
        return response


@dataclass
class People:
    api: Any
    owner: Browser
    editor: Browser
    viewer: Browser

    def channels(self) -> list[dict[str, Any]]:
        answer = self.api.client.get("/api/v1/alerts/channels", headers=self.api.admin)
        assert answer.status_code == 200
        return list(answer.json())

    def rules(self) -> list[dict[str, Any]]:
        answer = self.api.client.get("/api/v1/alerts/rules", headers=self.api.read)
        assert answer.status_code == 200
        return list(answer.json())

    def add_channel(self, url: str, name: str = "Leadership") -> int:
        answer = self.api.client.post(
            "/api/v1/alerts/channels",
            headers=self.api.admin,
            json={"name": name, "kind": "teams", "config": {"url": url}},
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


@pytest.fixture
def people(api: Any) -> Iterator[People]:
    context = api.setup.context
    with context.db.session() as session:
        for (email, name, password), role in (
            (OWNER, Role.OWNER),
            (EDITOR, Role.EDITOR),
            (VIEWER, Role.VIEWER),
        ):
            create_user(session, email=email, name=name, role=role, password=password)
    app = api.client.app
    with CheckedClient(app) as first, CheckedClient(app) as second, CheckedClient(app) as third:
        yield People(
            api,
            Browser(first, *OWNER[::2]),
            Browser(second, *EDITOR[::2]),
            Browser(third, *VIEWER[::2]),
        )


def _teams_fields(url: str, **fields: str) -> dict[str, str]:
    return {"name": "Leadership (Teams)", "kind": "teams", "url": url, **fields}


def test_the_owner_adds_a_channel_whose_test_message_arrives(people: People) -> None:
    owner = people.owner
    with http_receiver() as teams, http_receiver([(404, {})]) as gone:
        added = owner.post("/alerts/channels", _teams_fields(teams.url + TEAMS_PATH))
        assert added.status_code == 303, added.text
        (channel,) = people.channels()
        assert added.headers["location"] == f"/alerts#channel-{channel['id']}"
        listed = _text(owner.get("/alerts").text)
        assert "Leadership (Teams) · Microsoft Teams · on" in listed
        assert "posts to 127.0.0.1" in listed and "Last deliveries: none yet" in listed

        tested = owner.post(f"/alerts/channels/{channel['id']}/test")
        assert tested.status_code == 303
        result = owner.get(tested.headers["location"])
        assert result.status_code == 200
        assert "The test message was sent: the channel accepted it." in _text(result.text)
        (arrived,) = teams.delivered()
        assert arrived.path == TEAMS_PATH
        assert b"Northstar test message" in arrived.body

        history = _text(result.text)
        assert "Deliveries to Leadership (Teams)" in history
        assert "Test message: Northstar test message Sent" in history
        (delivery,) = people.api.client.get(
            f"/api/v1/alerts/channels/{channel['id']}/deliveries", headers=people.api.read
        ).json()
        assert delivery["status"] == "sent" and f"id='delivery-{delivery['id']}'" in result.text
        assert "Test message sent" in _text(owner.get("/alerts").text)

        # A channel that refuses (404): failed, with the reason, and not tried again.
        refusing = people.add_channel(gone.url + "/hook-gone", name="Old flow")
        refused = owner.get(owner.post(f"/alerts/channels/{refusing}/test").headers["location"])
        words = _text(refused.text)
        assert "The test message was not delivered: HTTP 404" in words
        assert "It is not tried again" in words and "Failed" in words

    assert owner.post(f"/alerts/channels/{channel['id']}/disable").status_code == 303
    assert people.channels()[0]["enabled"] is False
    assert "Leadership (Teams) · Microsoft Teams · switched off" in _text(owner.get("/alerts").text)
    assert owner.post(f"/alerts/channels/{channel['id']}/enable").status_code == 303
    assert people.channels()[0]["enabled"] is True
    assert owner.post(f"/alerts/channels/{refusing}/delete").status_code == 303
    assert [c["name"] for c in people.channels()] == ["Leadership (Teams)"]
    assert owner.get(f"/alerts/channels/{refusing}").status_code == 404
    assert owner.get("/alerts/channels/x1").status_code == 404
    assert owner.post(f"/alerts/channels/{channel['id']}/rename").status_code == 404
    pages = "\n".join(owner.pages)
    assert find_leaks(pages, SECRET_FORMS) == []


def test_a_refused_channel_form_shows_the_message_by_its_field_and_no_secret(
    people: People,
) -> None:
    owner = people.owner
    fields = {
        "name": "Our receiver",
        "kind": "webhook",
        "url": "ftp://hooks.example.net" + TEAMS_PATH,
        "secret": WEBHOOK_SECRET,
        "digest_weekday": "1",
        "digest_time": "08:00",
    }
    refused = owner.post("/alerts/channels", fields)

    assert refused.status_code == 422
    page = refused.text
    assert re.search(r"id='url-error'>Must be an http\(s\) address", page)
    assert "aria-invalid='true'" in page and "Nothing was saved" in page
    assert "value='Our receiver'" in page and "<option value='1' selected>" in page
    assert "value='08:00'" in page
    assert "name='url' type='password' value=''" in page
    assert "name='secret' type='password' value=''" in page
    assert find_leaks(page, SECRET_FORMS) == []
    assert people.channels() == []

    short = owner.post("/alerts/channels", {**fields, "url": "https://h.example", "secret": "s"})
    assert short.status_code == 422
    assert re.search(r"id='secret-error'>Must be at least 16 characters", short.text)
    nameless = owner.post("/alerts/channels", {**fields, "name": "", "url": "https://h.example"})
    assert re.search(r"id='name-error'>String should have at least 1 character", nameless.text)
    half_digest = {**fields, "url": "https://h.example", "digest_time": ""}
    assert (
        "give both digest_weekday and digest_time"
        in owner.post("/alerts/channels", half_digest).text
    )
    assert people.channels() == []

    people.add_channel("https://h.example/one", name="Taken")
    taken = owner.post("/alerts/channels", {**fields, "name": "Taken", "url": "https://h.example"})
    assert taken.status_code == 409
    assert re.search(
        r"id='name-error'>An alert channel is already called 'Taken'", unescape(taken.text)
    )


def test_an_editor_adds_a_rule_but_no_channel(people: People) -> None:
    api, editor = people.api, people.editor
    objective = api.client.post(
        "/api/v1/objectives", headers=api.admin, json={"title": "Clients trust us"}
    ).json()
    channel_id = people.add_channel("https://hooks.example.net" + TEAMS_PATH)
    page = editor.get("/alerts").text
    assert "action='/alerts/rules'" in page
    assert "action='/alerts/channels'" not in page and "Send a test message" not in page
    assert f"<option value='objective:{objective['id']}'>Objective: Clients trust us" in page

    added = editor.post(
        "/alerts/rules",
        {
            "channel_id": str(channel_id),
            "scope": f"objective:{objective['id']}",
            "event": "status_change",
            "to_off_track": "on",
            "quiet_hours": "12",
            "rule_name": "Off track",
        },
    )
    assert added.status_code == 303, added.text
    (rule,) = people.rules()
    assert (rule["objective_id"], rule["goal_id"], rule["event"]) == (
        objective["id"],
        None,
        "status_change",
    )
    assert rule["options"] == {"from_statuses": [], "to_statuses": ["off_track"]}
    assert rule["quiet_hours"] == 12 and rule["name"] == "Off track"
    listed = _text(editor.get("/alerts").text)
    assert (
        "Tells Leadership when its status changes, about the objective Clients trust us" in listed
    )
    assert "(to Off track); quiet for 12 hours after a message; on" in listed

    refused = editor.post(
        "/alerts/rules",
        {
            "channel_id": str(channel_id),
            "event": "manual_quiet",
            "weeks": "99",
            "rule_name": "Kept",
        },
    )
    assert refused.status_code == 422
    assert re.search(r"id='weeks-error'>[^<]*less than or equal to 52", refused.text)
    assert "value='Kept'" in refused.text and len(people.rules()) == 1
    no_goal = editor.post(
        "/alerts/rules", {"channel_id": str(channel_id), "event": "milestone", "scope": "goal:999"}
    )
    assert no_goal.status_code == 422
    assert "id='scope-error'>There is no goal with id 999." in no_goal.text

    for url in (
        "/alerts/channels",
        f"/alerts/channels/{channel_id}/test",
        f"/alerts/channels/{channel_id}/disable",
        f"/alerts/channels/{channel_id}/delete",
    ):
        answer = editor.post(url, _teams_fields("https://h.example/x"))
        assert answer.status_code == 403, url
        assert "Only an owner can change this" in _text(answer.text)
    assert [(c["name"], c["enabled"]) for c in people.channels()] == [("Leadership", True)]
    assert (
        api.client.get(f"/api/v1/alerts/channels/{channel_id}/deliveries", headers=api.read).json()
        == []
    )

    assert editor.post(f"/alerts/rules/{rule['id']}/disable").status_code == 303
    assert people.rules()[0]["enabled"] is False
    assert editor.post(f"/alerts/rules/{rule['id']}/delete").status_code == 303
    assert people.rules() == []
    assert find_leaks("\n".join(editor.pages), SECRET_FORMS) == []


def test_a_viewer_sees_no_form_and_is_refused_every_post(people: People) -> None:
    viewer = people.viewer
    channel_id = people.add_channel("https://hooks.example.net" + TEAMS_PATH)
    people.owner.post("/alerts/rules", {"channel_id": str(channel_id), "event": "forecast_miss"})
    (rule,) = people.rules()
    page = viewer.get("/alerts").text
    assert "Leadership" in page and "about the whole plan" in _text(page)
    assert "hooks.example.net" not in page  # where a channel sends is the owner's to see
    assert "hooks.example.net" in people.owner.get("/alerts").text
    assert re.findall(r"<form[^>]*action='([^']+)'", page) == ["/logout"]
    assert "Deliveries to Leadership" in viewer.get(f"/alerts/channels/{channel_id}").text

    token = viewer.token()  # the viewer's own, valid token: the role refuses
    for url in (
        "/alerts/channels",
        f"/alerts/channels/{channel_id}/test",
        f"/alerts/channels/{channel_id}/delete",
        "/alerts/rules",
        f"/alerts/rules/{rule['id']}/disable",
        f"/alerts/rules/{rule['id']}/delete",
    ):
        fields = {"channel_id": str(channel_id), "event": "milestone"}
        answer = viewer.post(url, {**fields, **_teams_fields("https://h.example/x")}, token=token)
        assert answer.status_code == 403, url
    assert len(people.channels()) == 1
    assert [(r["id"], r["enabled"]) for r in people.rules()] == [(rule["id"], True)]
    assert find_leaks("\n".join(viewer.pages), SECRET_FORMS) == []


def test_a_post_without_this_browsers_token_is_refused(people: People) -> None:
    owner, editor = people.owner, people.editor
    fields = _teams_fields("https://hooks.example.net" + TEAMS_PATH)
    for token in ("", "not-the-token", editor.token()):
        answer = owner.post("/alerts/channels", fields, token=token)
        assert answer.status_code == 403
        assert "did not come from your Northstar page" in _text(answer.text)
    bare = owner.client.post("/alerts/channels", data=fields, follow_redirects=False)
    assert bare.status_code == 403
    assert people.channels() == []
    channel_id = people.add_channel("https://hooks.example.net/a")
    assert (
        editor.post(
            "/alerts/rules", {"channel_id": str(channel_id), "event": "milestone"}, token="x"
        ).status_code
        == 403
    )
    assert people.rules() == []


def test_the_header_links_to_the_alerts(people: People) -> None:
    for browser in (people.owner, people.viewer):
        assert "<a href='/alerts'>Alerts</a>" in browser.get("/plan").text
