"""Every form post carries the CSRF token of the browser's own session, and the person's
role must be enough: checked by `check_form` on the pages' form path (a probe route that
reads and checks a form as the planning pages do), through the real app."""

from __future__ import annotations

from typing import Any

import pytest
from leak_guard import CheckedClient
from people_helpers import People, csrf_of, signed_in_as

from app.people.principal import Role
from app.people.sessions import csrf_token_for
from app.people.web import CSRF_FIELD
from app.security.apikeys import create_api_key
from app.security.models import KeyScope


def post_form(client: CheckedClient, fields: dict[str, str], need: str = "editor") -> Any:
    return client.post("/probe/form", params={"need": need}, data=fields)


def test_an_editor_posts_with_the_token_of_their_session(people: People) -> None:
    token = signed_in_as(people.client, Role.EDITOR)

    answer = post_form(people.client, {CSRF_FIELD: csrf_of(token), "note": "a", "x": "1"})

    assert answer.status_code == 200
    assert answer.json() == {
        "by": "Eddie Editor",
        "role": "editor",
        "form": {CSRF_FIELD: csrf_of(token), "note": "a", "x": "1"},
    }
    assert csrf_of(token) not in token and len(csrf_of(token)) == 64  # hex, not the token


@pytest.mark.parametrize("which", ["missing", "wrong", "another session's", "empty"])
def test_a_post_without_its_own_token_is_refused(people: People, which: str) -> None:
    token = signed_in_as(people.client, Role.OWNER)
    other = signed_in_as(people.client_from(), Role.OWNER)  # the same person, elsewhere
    fields = {
        "missing": {"note": "hello"},
        "wrong": {CSRF_FIELD: "0" * 64},
        "another session's": {CSRF_FIELD: csrf_of(other)},
        "empty": {CSRF_FIELD: ""},
    }[which]

    refused = post_form(people.client, fields)

    assert refused.status_code == 403
    assert "did not come from your Northstar page" in refused.text
    assert post_form(people.client, {CSRF_FIELD: csrf_of(token)}).status_code == 200


def test_a_viewer_is_refused_even_with_a_valid_token(people: People) -> None:
    token = signed_in_as(people.client, Role.VIEWER)

    refused = post_form(people.client, {CSRF_FIELD: csrf_of(token)})
    as_editor_needs = post_form(people.client, {CSRF_FIELD: csrf_of(token)}, need="viewer")

    assert refused.status_code == 403
    assert (
        "Only an editor or an owner can change the plan; you are signed in as a viewer."
        in refused.text.replace("&#x27;", "'")
    )
    assert as_editor_needs.status_code == 200


def test_an_editor_cannot_do_what_needs_an_owner(people: People) -> None:
    token = signed_in_as(people.client, Role.EDITOR)

    refused = post_form(people.client, {CSRF_FIELD: csrf_of(token)}, need="owner")

    assert refused.status_code == 403 and "Only an owner can" in refused.text


def test_an_api_key_sign_in_reads_only_with_a_token_of_its_own(people: People) -> None:
    with people.db.session() as session:
        key = create_api_key(session, name="kiosk", scope=KeyScope.ADMIN).key
    people.client.post("/login", data={"api_key": key})
    token = csrf_token_for(key)

    reads = post_form(people.client, {CSRF_FIELD: token}, need="viewer")
    changes = post_form(people.client, {CSRF_FIELD: token})

    assert reads.json()["by"] == "API key kiosk" and reads.json()["role"] == "viewer"
    assert changes.status_code == 403 and "signed in as a viewer" in changes.text


def test_forms_are_read_bounded_and_the_last_value_wins(people: People) -> None:
    token = signed_in_as(people.client, Role.EDITOR)
    good = f"{CSRF_FIELD}={csrf_of(token)}"
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}

    twice = people.client.post(
        "/probe/form", content=f"{good}&note=first&note=last", headers=form_type
    )
    too_long = people.client.post(
        "/probe/form", content=f"{good}&note={'x' * 2000}", headers=form_type
    )
    not_a_form = people.client.post("/probe/form", json={CSRF_FIELD: csrf_of(token)})

    assert twice.json()["form"]["note"] == "last"
    assert too_long.status_code == 413
    assert not_a_form.status_code == 400 and "fields of a form" in not_a_form.text


def test_a_form_post_without_a_sign_in_gets_the_sign_in_page(people: People) -> None:
    answer = post_form(people.client, {CSRF_FIELD: "0" * 64})
    assert answer.status_code == 200 and "action='/login'" in answer.text
