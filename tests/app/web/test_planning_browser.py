"""Planning in a real browser (headless Chromium, Playwright) on the demo data: an editor
signs in with e-mail and password; writes an objective with its purpose and what a win will
feel like, a band goal on utilisation (previewing its baseline and last periods, real
numbers, before saving), a milestone and a check-in; records a story for this quarter and a
team pulse; finds all of them on the overview and on the quarter's review page; moves the
band and finds the change in the goal's history; signs out. A viewer sees the same pages
with no control (no form but signing out), and a post sent by hand with the viewer's own
CSRF token is refused (403), as is a post without a valid token. axe-core finds no serious
or critical violation on the planning pages.

Skipped where Chromium (or the axe package) is not installed, unless
NORTHSTAR_TEST_BROWSER_REQUIRED=1 (CI)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
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

from app.goals.stories import quarter_of
from app.main import create_app
from app.people.principal import Role
from app.people.users import create_user

EDITOR = ("erin@example.com", "Erin Editor", "a long planning password")
VIEWER = ("val@example.com", "Val Viewer", "another long password")
OBJECTIVE = "A team that feels calm"
GOAL = "Utilisation held in a calm band"
require_chromium()
AXE = require_axe()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, date]]:
    """The demo (both sandbox PSAs synced, the example plan seeded) with an editor and a
    viewer, served on loopback. Module-scoped: the tests run in order on the same data."""
    with demo_world(tmp_path_factory.mktemp("planning-demo")) as context:
        with context.db.session() as session:
            for (email, name, password), role in ((EDITOR, Role.EDITOR), (VIEWER, Role.VIEWER)):
                create_user(session, email=email, name=name, role=role, password=password)
        with serve_on_loopback(create_app(context=context, run_scheduler=False)) as base:
            yield base, datetime.now(context.settings.tz).date()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _signed_in(browser: Any, base: str, who: tuple[str, str, str], **options: Any) -> Any:
    page = offline_context(browser, base, **options).new_page()
    page.goto(base + "/")
    page.fill("#email", who[0])
    page.fill("#password", who[2])
    page.click("button:text-is('Sign in')")
    page.wait_for_selector("main .summary")
    return page


def _token(page: Any) -> str:
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))


def test_an_editor_sets_the_plan_checks_in_and_holds_the_review(
    site: tuple[str, date], browser: Any
) -> None:
    base, today = site
    quarter = quarter_of(today)
    page = _signed_in(browser, base, EDITOR)

    page.click("text=New objective")
    page.fill("#title", OBJECTIVE)
    page.fill("#purpose", "Serves the technicians: fewer evenings on call")
    page.fill("#win_feels_like", "My team feels confident and less reactive")
    page.click("button:text-is('Save the objective')")
    page.wait_for_selector(f"section.objective:has-text('{OBJECTIVE}')")

    page.goto(base + "/plan/goals/new")
    page.select_option("#objective_id", label=OBJECTIVE)
    page.select_option("#kpi", value="utilization_pct")
    page.click("text=Next: the goal's terms")
    assert page.locator("[name=scope_client]").count() == 0  # utilisation is not by client
    page.fill("#title", GOAL)
    page.check("#kind-band")
    page.fill("#low", "70")
    page.fill("#high", "80")
    page.fill("#start_date", today.replace(day=1).isoformat())
    page.click("text=Preview the baseline and last periods")
    baseline = page.locator(".preview .baseline").inner_text()
    assert re.search(r"\d+\.\d %", baseline), baseline  # a real number, before saving
    values = page.locator(".preview tbody td:nth-child(2)").all_inner_texts()
    assert len(values) >= 12 and sum(bool(re.match(r"\d", v)) for v in values) >= 6, values
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planning-goal-preview.png"), full_page=True)
    page.click("button:text-is('Save the goal')")
    page.wait_for_selector("#goal-title")
    assert page.locator("#goal-title").inner_text() == GOAL
    goal_url = page.url

    page.click("text=Add a milestone")
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    page.fill("#title", "Band held through the month")
    page.fill("#due_date", month_end.isoformat())
    page.click("button:text-is('Save the milestone')")
    page.wait_for_selector("text=Band held through the month")

    page.click(".goal-head >> text=Check in")
    page.select_option("#confidence", "8")
    page.fill("#note", "The new rota is holding")
    page.click("button:text-is('Record the check-in')")
    page.wait_for_selector("td:text-is('The new rota is holding')")

    page.goto(base + "/plan/stories/new")
    page.fill("#text", "Maria said the Friday handover was the calmest she remembers")
    page.click("button:text-is('Record the story')")
    page.wait_for_selector("text=the calmest she remembers")
    assert f"/reviews/{quarter}" in page.url

    page.goto(base + "/plan/kpis/team_confidence/record")
    for n, (who, score) in enumerate((("Ana", "6"), ("Bo", "8"), ("Cy", "9")), start=1):
        page.fill(f"#person_{n}", who)
        page.fill(f"#score_{n}", score)
    page.click("button:text-is('Record the pulse')")
    page.wait_for_url(base + "/kpis/team_confidence")

    page.goto(base + "/")
    overview = page.locator("main").inner_text()
    for seen in (
        OBJECTIVE,
        "fewer evenings on call",
        GOAL,
        "the calmest she remembers",
        "8/10",
        "Erin Editor",
    ):
        assert seen in overview, seen

    page.goto(base + f"/reviews/{quarter}")
    review = page.locator("main").inner_text()
    assert review.index("the calmest she remembers") < review.index(OBJECTIVE)
    for seen in (GOAL, "Band held through the month", "The new rota is holding"):
        assert seen in review, seen
    assert review.rstrip().endswith("My team feels confident and less reactive")
    page.screenshot(path=str(ARTIFACTS / "planning-review.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("header nav").is_visible()  # printed without the top bar
    assert not page.locator(".controls").first.is_visible()  # nor the ways to change it
    assert page.locator("#stories-title").is_visible()
    page.emulate_media(media="screen")

    page.goto(goal_url)
    page.click("text=Change this goal")
    page.fill("#high", "82")
    page.click("button:text-is('Save')")
    page.wait_for_selector("#history-title")
    history = page.locator("ul.history").inner_text()
    assert "Erin Editor" in history and "82" in history, history

    page.click("header button:text-is('Sign out')")
    page.wait_for_selector("#email")
    page.context.close()


def test_a_viewer_sees_no_control_and_cannot_post(site: tuple[str, date], browser: Any) -> None:
    base, today = site
    page = _signed_in(browser, base, VIEWER)
    goal = page.locator("article.goal a").first.get_attribute("href")
    for path in ("/", "/plan", str(goal), f"/reviews/{quarter_of(today)}", "/kpis"):
        page.goto(base + path)
        forms = page.locator("form")
        assert forms.count() == 1 and forms.first.get_attribute("action") == "/logout", path
        assert page.locator("a[href^='/plan/']").count() == 0, path
    page.goto(base + "/plan")
    token = _token(page)  # the viewer's own, from the sign-out form

    by_hand = page.request.post(
        base + "/plan/objectives", form={"csrf_token": token, "title": "Viewer's own"}
    )
    assert by_hand.status == 403
    page.context.close()

    editor = _signed_in(browser, base, EDITOR)
    forged = editor.request.post(
        base + "/plan/objectives", form={"csrf_token": "not-this-browsers", "title": "Forged"}
    )
    assert forged.status == 403
    editor.goto(base + "/plan")
    assert "Viewer's own" not in editor.content() and "Forged" not in editor.content()
    editor.context.close()


def test_axe_finds_no_serious_or_critical_violation_on_the_planning_pages(
    site: tuple[str, date], browser: Any
) -> None:
    base, today = site
    page = _signed_in(browser, base, EDITOR, bypass_csp=True)
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.add_script_tag(content=AXE)
        result = page.evaluate("async () => await axe.run(document)")
        assert result["passes"], "axe ran"
        found[name] = [
            f"{v['id']} ({v['impact']}): {v['help']}; {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    for path in (
        "/plan",
        "/plan/objectives/new",
        "/plan/goals/new",
        "/plan/goals/new?kpi=utilization_pct",
        "/plan/kpis/new",
        "/plan/kpis/team_confidence/record",
        "/plan/stories/new",
        f"/reviews/{quarter_of(today)}",
        "/alerts",
    ):
        page.goto(base + path)
        check(path)
    page.goto(base + "/plan/goals/new?kpi=utilization_pct")
    page.check("#kind-band")
    page.fill("#title", "Preview only")
    page.fill("#low", "70")
    page.fill("#high", "80")
    page.click("text=Preview the baseline and last periods")
    page.wait_for_selector(".preview")
    check("goal preview")
    page.fill("#high", "60")
    page.click("button:text-is('Save the goal')")
    page.wait_for_selector("#high-error")
    check("refused goal")
    page.context.close()
    assert not any(found.values()), found
