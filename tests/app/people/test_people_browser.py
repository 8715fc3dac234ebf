"""Signing in with a password in a real browser (headless Chromium, as in
tests/app/web/test_web_hardening_browser.py): the form submits, the session cookie is
HttpOnly and SameSite=Lax (so a link from an e-mail opens the page signed in), a link
followed from another site arrives signed in, another site's form post carries no session,
and Sign out ends the session.

Skipped where Chromium is not installed, unless NORTHSTAR_TEST_BROWSER_REQUIRED=1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import chromium, require_chromium
from live_server import serve_on_loopback
from people_helpers import EMAILS, PASSWORDS, People
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.people.principal import Role
from app.people.sessions import SESSION_COOKIE

require_chromium()


@pytest.fixture
def browser(people: People) -> Iterator[tuple[Any, str]]:
    with serve_on_loopback(people.app) as url, chromium() as launched:
        yield launched.new_page(), url


def elsewhere_page(html: str) -> Starlette:
    async def the_page(_request: Request) -> HTMLResponse:
        return HTMLResponse(html)

    return Starlette(routes=[Route("/", the_page)])


def test_a_person_signs_in_follows_a_link_from_elsewhere_and_signs_out(
    browser: tuple[Any, str],
) -> None:
    page, url = browser
    page.goto(url + "/kpis")
    page.fill("#email", EMAILS[Role.EDITOR])
    page.fill("#password", PASSWORDS[Role.EDITOR])
    page.click("form:has(#email) button")
    page.wait_for_selector("header")

    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not page.evaluate("document.cookie")  # no script can read it

    # A link in another site (an e-mail, a Teams message) opens the page signed in; a form
    # that site posts to Northstar arrives without the session.
    links = (
        f"<a id='link' href='{url}/kpis'>KPIs</a>"
        f"<form id='post' method='post' action='{url}/probe/form'>"
        "<input name='csrf_token' value='guess'><button id='send'>Send</button></form>"
    )
    with serve_on_loopback(elsewhere_page(links)) as other:
        page.goto(other.replace("127.0.0.1", "localhost") + "/")
        page.click("#link")
        page.wait_for_selector("header")
        assert "Northstar scorecard" in page.content()

        page.goto(other.replace("127.0.0.1", "localhost") + "/")
        with page.expect_response(f"{url}/probe/form") as answer:
            page.click("#send")
        assert "action='/login'" in answer.value.text()  # not signed in: the cookie stayed home

    page.goto(url + "/kpis")
    page.click("form.signout button")
    page.wait_for_selector("#email")
    assert not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
