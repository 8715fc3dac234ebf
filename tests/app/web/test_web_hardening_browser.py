"""The page's defences in a real browser (headless Chromium, as in
test_web_scorecard_browser): its Content-Security-Policy lets the page's own stylesheet
apply and reports nothing blocked, another site cannot frame it, a sign-in form posted from
another site signs no one in, and the Sign out button signs out. "Another site" is a second
server on loopback, addressed as `localhost` while Northstar is addressed as `127.0.0.1`:
another host, so another site to the browser.

Skipped where Chromium is not installed, unless NORTHSTAR_TEST_BROWSER_REQUIRED=1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from browser_support import chromium, require_chromium
from hardened_app import hardened_app
from live_server import serve_on_loopback
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.api.deps import COOKIE_NAME

require_chromium()


@pytest.fixture
def browser_page(api: Any) -> Iterator[tuple[Any, str, list[str]]]:
    """A fresh page, the served app's address, and every console message of the page."""
    with serve_on_loopback(hardened_app(api.setup.context)) as url, chromium() as browser:
        page = browser.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        yield page, url, console


@contextmanager
def another_site(html: str) -> Iterator[str]:
    """A page of another site, served on loopback; yields its address."""

    async def the_page(_request: Request) -> HTMLResponse:
        return HTMLResponse(html)

    with serve_on_loopback(Starlette(routes=[Route("/", the_page)])) as url:
        yield url.replace("127.0.0.1", "localhost") + "/"


def test_the_page_keeps_to_its_policy_and_signs_in_and_out(
    api: Any, browser_page: tuple[Any, str, list[str]]
) -> None:
    page, url, console = browser_page
    page.goto(url + "/")
    page.fill("#api_key", api.read["X-API-Key"])
    page.click("button[type=submit]")
    page.wait_for_selector("main")

    header_colour = page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor")
    assert header_colour == "rgb(29, 36, 51)"  # the inline stylesheet applied, by its hash
    page.click("form.signout button")
    page.wait_for_selector("#api_key")
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
    assert not [line for line in console if "Content Security Policy" in line], console


def test_another_site_cannot_frame_the_page(browser_page: tuple[Any, str, list[str]]) -> None:
    page, url, _console = browser_page

    def frame_settled(frame: Any) -> bool:
        return frame.parent_frame is not None and frame.url not in ("", "about:blank")

    with (
        another_site(f"<iframe id='victim' src='{url}/'></iframe>") as elsewhere,
        page.expect_event("framenavigated", predicate=frame_settled) as navigated,
    ):
        page.goto(elsewhere)

    assert navigated.value.url.startswith("chrome-error://")  # Chromium refused to show it
    assert page.frame_locator("#victim").locator("#api_key").count() == 0


def test_a_sign_in_posted_by_another_site_signs_no_one_in(
    api: Any, browser_page: tuple[Any, str, list[str]]
) -> None:
    page, url, _console = browser_page
    planted = api.read["X-API-Key"]  # the "attacker's" key, planted in the victim's browser
    form = (
        f"<form id='f' method='post' action='{url}/login'>"
        f"<input name='api_key' value='{planted}'></form>"
        "<script>document.getElementById('f').submit()</script>"
    )

    with another_site(form) as elsewhere, page.expect_response(f"{url}/login") as answer:
        page.goto(elsewhere)

    assert answer.value.status == 403
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
