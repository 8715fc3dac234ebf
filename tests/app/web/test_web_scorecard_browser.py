"""The scorecard page in a real browser (headless Chromium from Debian's `chromium` package,
driven by Playwright): it loads, signs in, shows every goal of the demo plan with its status
in words, and a screenshot is saved to test-artifacts/scorecard.png.

Skipped where Chromium is not installed, unless NORTHSTAR_TEST_BROWSER_REQUIRED=1 (CI, whose
.ci/run installs it), which makes a missing browser a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import serve_on_loopback
from sqlalchemy import select

from app.api.context import ServiceContext
from app.db import Database
from app.demo import ensure_demo_sources, seed_demo_plan, sync_demo_sources
from app.goals.models import Goal
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("NORTHSTAR_TEST_BROWSER_REQUIRED") == "1"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
STATUS_WORDS = ("Achieved", "On track", "At risk", "Off track", "No data yet")

if CHROMIUM is None:
    if REQUIRED:
        pytest.fail("Chromium is required (NORTHSTAR_TEST_BROWSER_REQUIRED=1) but not installed")
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def demo_server(settings: Settings, db: Database) -> Iterator[tuple[str, str, list[str]]]:
    """The demo, served on loopback: both sandbox PSAs synced and the example plan seeded."""
    context = ServiceContext.build(settings, db=db)
    sync_demo_sources(context, ensure_demo_sources(context))
    seed_demo_plan(context)
    with db.session() as session:
        key = create_api_key(session, name="browser", scope=KeyScope.READ).key
        titles = list(session.scalars(select(Goal.title).order_by(Goal.id)))
    app = create_app(context=context, run_scheduler=False)
    with serve_on_loopback(app) as url:
        yield url, key, titles


def test_the_scorecard_page_shows_every_demo_goal_with_its_status(
    demo_server: tuple[str, str, list[str]],
) -> None:
    from playwright.sync_api import sync_playwright

    url, key, titles = demo_server
    assert len(titles) >= 8, "the demo plan has its goals"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # The machine has no network: keep Chromium from trying to reach one.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/")
            page.fill("#api_key", key)
            page.click("button[type=submit]")
            page.wait_for_selector("main")
            for title in titles:
                row = page.locator("article.goal", has_text=title).first
                row_text = row.inner_text()
                assert any(word in row_text for word in STATUS_WORDS), title
            page.screenshot(path=str(ARTIFACTS / "scorecard.png"), full_page=True)
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            phone.goto(url + "/")
            assert phone.locator("h1").first.inner_text() == "Northstar scorecard"
            phone.screenshot(path=str(ARTIFACTS / "scorecard-phone.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "scorecard.png").stat().st_size > 10_000
