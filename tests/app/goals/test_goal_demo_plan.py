"""The plan `make demo` sets up, over both sandbox PSAs synced as the demo does: nothing it
says is impossible. No forecast leaves its KPI's range, nothing is graded before a goal's
start or before the PSAs' history, no progress figure means nothing, and the review of the
last quarter reads the snapshots of that time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from leak_guard import CheckedClient

from app.api.context import ServiceContext
from app.db import Database
from app.demo import ensure_demo_sources, seed_demo_plan, sync_demo_sources
from app.kpis.periods import previous_quarter
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings

GRADED = {"on_track", "at_risk", "off_track", "achieved", "missed"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CheckedClient, Any]]:
    path = tmp_path_factory.mktemp("demo") / "northstar.db"
    settings = Settings(_env_file=None, database_url=f"sqlite:///{path}", scheduler_enabled=False)  # type: ignore[call-arg]
    from app.cli import migrate_database

    migrate_database(settings)
    db = Database(settings.database_url)
    context = ServiceContext.build(settings, db=db)
    sync_demo_sources(context, ensure_demo_sources(context))
    seed_demo_plan(context)
    with db.session() as session:
        key = create_api_key(session, name="read", scope=KeyScope.READ).key
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        yield client, {"X-API-Key": key, "settings": settings}
    db.dispose()


def get(demo: tuple[CheckedClient, Any], url: str, **params: Any) -> Any:
    client, extra = demo
    response = client.get(url, headers={"X-API-Key": extra["X-API-Key"]}, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def goals_of(objectives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for objective in objectives:
        found += objective["goals"] + goals_of(objective["objectives"])
    return found


def today(demo: tuple[CheckedClient, Any]) -> date:
    return datetime.now(demo[1]["settings"].tz).date()


def inside(goal: dict[str, Any], value: float) -> bool:
    low, high = goal["kpi"]["min"], goal["kpi"]["max"]
    return (low is None or value >= low - 1e-9) and (high is None or value <= high + 1e-9)


def check_goal(goal: dict[str, Any]) -> None:
    """Nothing impossible in one goal's verdict."""
    as_of, start = date.fromisoformat(goal["as_of"]), date.fromisoformat(goal["start_date"])
    if as_of < start:
        assert goal["status"] == "not_started", goal
        assert goal["window"] is None and goal["forecast"] is None
    history = goal["coverage"]["history_from"] if goal["coverage"] else None
    if goal["window"] is not None and history is not None:
        assert goal["window"]["start"] >= history, goal
    for point in goal["series"]:
        if history is not None and point["period_start"] < history:
            assert (point["value"], point["reason"]) == (None, "before_history"), point
    if goal["kind"] in ("increase", "decrease"):
        for name in ("progress", "expected_progress"):
            assert goal[name] is None or 0.0 <= goal[name] <= 1.0, goal
        assert goal["record"] is None
    else:
        assert (goal["progress"], goal["expected_progress"], goal["pace"]) == (None, None, None)
        if goal["record"] is not None:
            assert 0 <= goal["record"]["held"] <= goal["record"]["judged"]
    forecast = goal["forecast"]
    if forecast is not None:
        assert forecast["low"] <= forecast["projected_value"] <= forecast["high"], forecast
        for value in (forecast["low"], forecast["projected_value"], forecast["high"]):
            assert inside(goal, value), (goal["title"], forecast)
        assert 0.0 <= forecast["probability"] <= 1.0
        assert forecast["points"] >= 3
        # Never further ahead than the span of the history the trend is fitted to.
        span = date.fromisoformat(forecast["last_day"]) - date.fromisoformat(forecast["first_day"])
        ahead = date.fromisoformat(goal["due_date"]) - date.fromisoformat(forecast["last_day"])
        assert ahead <= span, forecast
    assert goal["reason"] and goal["reason"].endswith(".")


def test_the_demo_plan_says_nothing_impossible_on_any_day(
    demo: tuple[CheckedClient, Any],
) -> None:
    now = today(demo)
    card = get(demo, "/api/v1/alignment")
    goals = goals_of(card["objectives"])
    assert len(goals) == 9
    assert sum(g["status"] in GRADED for g in goals) >= 6, [
        (g["title"], g["reason"]) for g in goals
    ]
    start = date.fromisoformat(goals[0]["start_date"])
    days = [start - timedelta(days=3), start, start + timedelta(days=45), now - timedelta(days=1)]
    for day in [*days, now]:
        for goal in goals_of(get(demo, "/api/v1/alignment", as_of=day.isoformat())["objectives"]):
            check_goal(goal)


def test_every_goal_in_depth_is_possible(demo: tuple[CheckedClient, Any]) -> None:
    for goal in goals_of(get(demo, "/api/v1/alignment")["objectives"]):
        detail = get(demo, f"/api/v1/goals/{goal['goal_id']}/alignment", sparkline=24)
        check_goal(detail)
        assert detail["status"] == goal["status"]


def test_the_last_quarter_is_reviewed_from_its_snapshots(demo: tuple[CheckedClient, Any]) -> None:
    quarter = previous_quarter(today(demo))

    review = get(demo, f"/api/v1/reviews/{quarter}")

    goals = [g for o in review["objectives"] for g in o["goals"]]
    assert len(goals) == 9 and review["added_later"] == []
    assert all(g["end"]["from_snapshot"] for g in goals)
    for goal in goals:
        for point in (goal["start"], goal["end"]):
            if point["as_of"] < goal["due_date"] and point["status"] in GRADED:
                assert point["reason"], goal
