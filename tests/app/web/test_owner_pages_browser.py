"""The owner's pages in a real browser (headless Chromium from Debian's `chromium` package,
driven by Playwright) on the demo data: sign in; the overview shows the status counts, every
goal with its chart and verdict, and each PSA's last sync; from the off-track SLA goal drill
to its client breakdown; open a KPI page and follow its CSV link. Screenshots at 1280 and
390 px go to test-artifacts/ (git-ignored); at 390 px nothing may scroll sideways, and the
verdict, the forecast and the confidence stay visible. axe-core (from the
axe-playwright-python package's axe.min.js) runs in the same browser and must find no
serious or critical violation on the overview, a goal's page and a KPI page.

Skipped where Chromium (or the axe package) is not installed, unless
NORTHSTAR_TEST_BROWSER_REQUIRED=1 (CI), which makes either missing a failure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    ARTIFACTS,
    chromium,
    demo_world,
    offline_context,
    require_axe,
    require_chromium,
)
from live_server import serve_on_loopback
from sqlalchemy import select

from app.goals.models import Goal
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope

STATUS_WORDS = ("Achieved", "On track", "At risk", "Off track", "Missed", "No data yet")
require_chromium()
AXE = require_axe()


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, list[str]]]:
    """The demo, served on loopback: both sandbox PSAs synced and the example plan seeded.
    Module-scoped: building it takes seconds, and every test here only reads it."""
    with demo_world(tmp_path_factory.mktemp("owner-demo")) as context:
        with context.db.session() as session:
            key = create_api_key(session, name="browser", scope=KeyScope.READ).key
            titles = list(session.scalars(select(Goal.title).order_by(Goal.id)))
        with serve_on_loopback(create_app(context=context, run_scheduler=False)) as base:
            yield base, key, titles


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _signed_in_page(browser: Any, base: str, key: str, width: int, **options: Any) -> Any:
    context = offline_context(browser, base, width=width, **options)
    page = context.new_page()
    page.goto(base + "/")
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    page.wait_for_selector("main .summary")
    return page


def _no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways at 390 px: {widths}"


def test_the_overview_shows_counts_every_goal_and_the_last_syncs(
    demo_site: tuple[str, str, list[str]], browser: Any
) -> None:
    base, key, titles = demo_site
    assert len(titles) >= 8, "the demo plan has its goals"
    ARTIFACTS.mkdir(exist_ok=True)
    page = _signed_in_page(browser, base, key, 1280)

    counts = page.locator(".summary .counts li").all_inner_texts()
    assert counts and all(any(w in c for w in STATUS_WORDS) for c in counts), counts
    assert sum(int(c.split()[-2]) for c in counts) == len(titles)
    for title in titles:
        card = page.locator("article.goal", has_text=title).first
        text = card.inner_text()
        assert any(word in text for word in STATUS_WORDS), title
        assert card.locator("figure.chart").count() == 1, title
        assert "Forecast" in text and "Confidence" in text, title
    assert card.locator("figure.chart svg").first.is_visible()
    sources = page.locator(".coverage li.source").all_inner_texts()
    assert len(sources) == 2 and all("last synced 20" in s for s in sources), sources
    assert all("Tickets checked " in s and "newest change " in s for s in sources), sources
    page.screenshot(path=str(ARTIFACTS / "overview-1280.png"), full_page=True)
    page.context.close()


def test_from_the_off_track_sla_goal_to_its_clients(
    demo_site: tuple[str, str, list[str]], browser: Any
) -> None:
    base, key, _ = demo_site
    page = _signed_in_page(browser, base, key, 1280)

    card = page.locator("article.goal", has_text="Respond within SLA")
    assert "Off track" in card.inner_text()
    card.locator("a", has_text="Respond within SLA").click()
    page.wait_for_selector("#drilldown")
    page.locator(".tabs a", has_text="by client").click()
    page.wait_for_selector("table.breakdown")

    assert "Off track" in page.locator(".goal-head .verdict").inner_text()
    rows = page.locator("table.breakdown tbody tr").all_inner_texts()
    assert len(rows) > 5
    ranked = [r for r in rows if r.split("\t")[0].strip().isdigit()]
    small = [r for r in rows if "small sample" in r]
    assert ranked and small, rows
    # Every ranked client rests on at least 30 tickets; the small ones come after them.
    assert all(int(r.split("\t")[3].replace(",", "")) >= 30 for r in ranked)
    assert rows.index(ranked[-1]) < rows.index(small[0])
    page.screenshot(path=str(ARTIFACTS / "goal-sla-1280.png"), full_page=True)
    page.context.close()


def test_a_kpi_page_and_its_csv_link(
    demo_site: tuple[str, str, list[str]], browser: Any, tmp_path: Path
) -> None:
    base, key, _ = demo_site
    page = _signed_in_page(browser, base, key, 1280, accept_downloads=True)

    page.locator("header nav a", has_text="KPIs").click()
    page.locator("table.kpis a", has_text="SLA response met").click()
    page.wait_for_selector("figure.chart")
    shown = page.locator("details.values tbody tr").count()
    with page.expect_download() as download:
        page.locator("a", has_text="These numbers as CSV").click()
    saved = tmp_path / "sla.csv"
    download.value.save_as(saved)

    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert len(rows) == shown == 12
    assert {"period_start", "value", "sample_size", "partial"} <= set(rows[0])
    page.context.close()


def test_at_390_px_nothing_scrolls_sideways_and_nothing_is_hidden(
    demo_site: tuple[str, str, list[str]], browser: Any
) -> None:
    base, key, _ = demo_site
    ARTIFACTS.mkdir(exist_ok=True)
    page = _signed_in_page(browser, base, key, 390)

    _no_sideways_scroll(page)
    for card in page.locator("article.goal").all():
        assert card.locator(".verdict .status").is_visible()
        for term in ("Forecast", "Confidence"):
            assert card.locator("dt", has_text=term).is_visible()
            assert card.locator(f"dt:has-text('{term}') + dd").is_visible()
        assert card.locator("figure.chart").is_visible()
    page.screenshot(path=str(ARTIFACTS / "overview-390.png"), full_page=True)
    page.locator("article.goal a", has_text="Respond within SLA").click()
    page.wait_for_selector("#drilldown")
    _no_sideways_scroll(page)
    assert page.locator(".goal-head .verdict .status").is_visible()
    assert page.locator("figure.chart svg.narrow").is_visible()
    assert not page.locator("figure.chart svg.wide").is_visible()
    page.screenshot(path=str(ARTIFACTS / "goal-sla-390.png"), full_page=True)
    page.goto(base + "/kpis/sla_response_pct")
    _no_sideways_scroll(page)
    page.context.close()
    assert (ARTIFACTS / "overview-390.png").stat().st_size > 10_000


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_no_serious_or_critical_violation(
    demo_site: tuple[str, str, list[str]], browser: Any, width: int
) -> None:
    base, key, _ = demo_site
    # The pages' policy allows no script: axe is put in with the policy bypassed, for the
    # check only.
    page = _signed_in_page(browser, base, key, width, bypass_csp=True)
    goal = page.locator("article.goal a", has_text="Respond within SLA").get_attribute("href")
    found: dict[str, list[str]] = {}
    for path in ("/", goal, "/kpis", "/kpis/sla_response_pct"):
        page.goto(base + str(path))
        page.add_script_tag(content=AXE)
        result = page.evaluate("async () => await axe.run(document)")
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        found[str(path)] = [
            f"{v['id']} ({v['impact']}): {v['help']}; {[n['target'] for n in v['nodes'][:3]]}"
            for v in bad
        ]
        assert result["passes"], "axe ran"
    page.context.close()
    assert not any(found.values()), found
