"""What the browser tests share: Debian's Chromium driven by Playwright, kept off the
network, axe-core for the accessibility checks, and the demo world served on loopback.

A test module calls `require_chromium()` (and `require_axe()` when it checks accessibility)
at import: where either is missing the module is skipped, unless
NORTHSTAR_TEST_BROWSER_REQUIRED=1 (CI), which makes it a failure.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.api.context import ServiceContext
from app.db import Database
from app.demo import ensure_demo_sources, seed_demo_plan, sync_demo_sources

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("NORTHSTAR_TEST_BROWSER_REQUIRED") == "1"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # git-ignored
# The machine has no network: keep Chromium from trying to reach one.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(what: str, how: str) -> None:
    if REQUIRED:
        pytest.fail(f"{what} is required (NORTHSTAR_TEST_BROWSER_REQUIRED=1) but missing")
    pytest.skip(f"{what} is not installed ({how})", allow_module_level=True)


def require_chromium() -> str:
    """Chromium's path; the calling module is skipped (or failed, in CI) without it."""
    if CHROMIUM is None:
        _missing("Chromium", "apt-get install chromium")
    assert CHROMIUM is not None
    return CHROMIUM


def require_axe() -> str:
    """axe-core's script (from the axe-playwright-python package), as for Chromium."""
    try:
        files = importlib.resources.files("axe_playwright_python")
    except ModuleNotFoundError:
        _missing("axe-playwright-python", "make install")
        raise
    return (files / "axe.min.js").read_text(encoding="utf-8")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's Browser), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline_context(browser: Any, base: str, *, width: int = 1280, **options: Any) -> Any:
    """A new browser context in which nothing may leave the machine: every request that is
    not to `base` is refused."""
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(base)
            else route.abort("blockedbyclient")
        ),
    )
    return context


@contextmanager
def demo_world(directory: Path) -> Iterator[ServiceContext]:
    """The demo in a fresh SQLite database under `directory`: migrated, both sandbox PSAs
    synced and the example plan seeded (what `make demo` serves)."""
    from tests.conftest import _migrate, _settings_for

    path = directory / "northstar.db"
    url = f"sqlite:///{path}"
    _migrate(url)
    settings = _settings_for(url, dev_key_file=path.with_suffix(".key"))
    db = Database(url)
    try:
        context = ServiceContext.build(settings, db=db)
        sync_demo_sources(context, ensure_demo_sources(context))
        seed_demo_plan(context)
        yield context
    finally:
        db.dispose()
