"""Issue 15, defects 11 and 12: the pages cannot be framed, sniffed or made to run anything
they did not bring, and signing in or out only works from Northstar's own page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hardened_app import hardened_app
from leak_guard import CheckedClient

from app.api.deps import COOKIE_NAME
from app.api.security_headers import csp_hash
from app.security.apikeys import create_api_key, revoke_api_key
from app.security.models import KeyScope

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(api: Any) -> Iterator[CheckedClient]:
    with CheckedClient(hardened_app(api.setup.context)) as guarded:
        yield guarded


def read_key(api: Any) -> str:
    return str(api.read["X-API-Key"])


def sign_in(client: CheckedClient, key: str, **headers: str) -> Any:
    return client.post(
        "/login", content=f"api_key={key}", headers={**FORM, **headers}, follow_redirects=False
    )


def policy(response: Any) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    parts = (
        p.strip().split(" ", 1) for p in response.headers["content-security-policy"].split(";")
    )
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


def assert_not_frameable_nor_sniffable(response: Any) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert policy(response)["frame-ancestors"] == "'none'"


def assert_page_policy_holds(response: Any) -> None:
    """The page runs no script, and its only styles are the inline sheets the policy names."""
    assert_not_frameable_nor_sniffable(response)
    rules = policy(response)
    assert rules["default-src"] == "'none'" and "script-src" not in rules
    assert rules["form-action"] == "'self'" and rules["base-uri"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    sheets = re.findall(r"<style>(.*?)</style>", response.text, re.DOTALL)
    assert sheets and all(csp_hash(sheet) in rules["style-src"] for sheet in sheets)
    assert "<script" not in response.text and " style=" not in response.text
    assert response.headers["cache-control"] == "no-store"


def test_the_sign_in_page_cannot_be_framed_and_runs_nothing(client: CheckedClient) -> None:
    assert_page_policy_holds(client.get("/"))


def test_the_scorecard_and_the_review_keep_to_the_policy(api: Any, client: CheckedClient) -> None:
    objective = client.post("/api/v1/objectives", headers=api.admin, json={"title": "Grow"})
    client.post(
        "/api/v1/goals",
        headers=api.admin,
        json={
            "objective_id": objective.json()["id"],
            "title": "Tickets closed up",
            "kpi": "tickets_closed",
            "kind": "increase",
            "baseline": 1,
            "target": 3,
            "start_date": "2025-01-01",
            "due_date": "2025-06-01",
        },
    )
    assert sign_in(client, read_key(api)).status_code == 303

    assert_page_policy_holds(client.get("/"))
    assert_page_policy_holds(client.get("/api/v1/reviews/2025-Q1", params={"format": "html"}))


def test_data_responses_allow_nothing_either(api: Any, client: CheckedClient) -> None:
    for response in (
        client.get("/api/v1/goals", headers=api.read),
        client.get("/api/v1/goals", headers=api.read, params={"format": "csv"}),
        client.get("/odata/$metadata", headers=api.read),
        client.get("/api/v1/goals"),  # an error
    ):
        assert_not_frameable_nor_sniffable(response)
        assert policy(response)["default-src"] == "'none'" and "sandbox" in policy(response)


def test_the_docs_page_runs_only_its_own_script(client: CheckedClient) -> None:
    response = client.get("/api/v1/docs")

    assert_not_frameable_nor_sniffable(response)
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    rules = policy(response)
    assert scripts and all(csp_hash(script) in rules["script-src"] for script in scripts)
    assert "'unsafe-inline'" not in rules["script-src"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},  # a sandboxed or privacy-minded sender
        {"Referer": "https://attacker.example/page"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another party
    ],
)
def test_a_sign_in_posted_from_another_site_is_refused(
    api: Any, client: CheckedClient, headers: dict[str, str]
) -> None:
    response = sign_in(client, read_key(api), **headers)

    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert "did not come from Northstar" in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {"Referer": "http://testserver/"},
        {},  # not a browser (curl, a script): no cookie of a victim to abuse
    ],
)
def test_a_sign_in_from_the_own_page_sets_the_cookie(
    api: Any, client: CheckedClient, headers: dict[str, str]
) -> None:
    response = sign_in(client, read_key(api), **headers)

    assert response.status_code == 303
    assert f"{COOKIE_NAME}=" in response.headers["set-cookie"]


def test_behind_a_proxy_the_public_address_is_the_own_origin(api: Any) -> None:
    context = api.setup.context
    context.settings = context.settings.model_copy(
        update={"public_base_url": "https://northstar.example.com"}
    )
    with CheckedClient(hardened_app(context), base_url="http://127.0.0.1:8000") as proxied:
        from_public = sign_in(proxied, read_key(api), Origin="https://northstar.example.com")
        from_elsewhere = sign_in(proxied, read_key(api), Origin="https://other.example.com")

    assert from_public.status_code == 303
    assert from_elsewhere.status_code == 403


def test_signing_out_is_a_post_from_the_own_page(api: Any, client: CheckedClient) -> None:
    sign_in(client, read_key(api))
    page = client.get("/")

    assert "<form class='signout' method='post' action='/logout'>" in page.text
    assert client.get("/logout").status_code == 405
    assert client.post("/logout", headers={"Origin": "https://attacker.example"}).status_code == 403
    assert "Northstar scorecard" in client.get("/").text  # still signed in
    signed_out = client.post(
        "/logout", headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert signed_out.status_code == 303
    assert f'{COOKIE_NAME}=""' in signed_out.headers["set-cookie"]


def test_a_revoked_key_in_the_cookie_is_forgotten(api: Any, client: CheckedClient) -> None:
    with api.setup.context.db.session() as session:
        old = create_api_key(session, name="old", scope=KeyScope.READ)
        revoke_api_key(session, old.id)

    response = client.get("/", headers={"Cookie": f"{COOKIE_NAME}={old.key}"})

    assert response.status_code == 401
    assert f'{COOKIE_NAME}=""' in response.headers["set-cookie"]


def test_a_sign_in_form_longer_than_a_key_is_refused_unread(client: CheckedClient) -> None:
    response = sign_in(client, "ns_" + "x" * 10_000)

    assert response.status_code == 413
    assert "too long" in response.text
