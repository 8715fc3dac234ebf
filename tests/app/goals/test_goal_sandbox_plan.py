"""The docs/goals.md §4 example plan over a synced ConnectWise sandbox: the scorecard has real
statuses, two revenue goals match values worked out from the sandbox world's own truth,
and the 2025-Q4 review reads as a page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from leak_guard import CheckedClient
from sqlalchemy import update

from app.api.context import ServiceContext
from app.db import Database
from app.goals.examples import seed_example_plan
from app.goals.models import Goal
from app.ingest.sandbox import sandbox_base_url, sandbox_support, sandbox_world
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from connectors.sandbox.index import monthly_amount_on

SEED, TICKETS = 5, 400
START, DUE_12, AS_OF = date(2025, 7, 1), date(2026, 7, 1), date(2025, 12, 31)


def world_mrr(day: date) -> float:
    world = sandbox_world(SEED, TICKETS)
    return float(
        sum((monthly_amount_on(a, day) for a in world.agreements if not a.deleted), Decimal(0))
    )


@pytest.fixture
def sandbox(settings: Settings, db: Database) -> Iterator[tuple[CheckedClient, dict[str, str]]]:
    """A ConnectWise sandbox source, synced, with the example plan starting 1 July 2025."""
    context = ServiceContext.build(settings, db=db)
    with db.session() as session:
        key = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
    headers = {"X-API-Key": key}
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        support = sandbox_support("connectwise")
        assert support is not None
        source = client.post(
            "/api/v1/sources",
            headers=headers,
            json={
                "name": "sandbox",
                "kind": "connectwise",
                "config": support.source_config(sandbox_base_url(SEED, TICKETS)),
            },
        ).json()
        asyncio.run(context.runner.sync_source(source["id"], trigger="cli"))
        with db.session() as session:
            seed_example_plan(session, start=START, today=date(2026, 1, 1))
            # Written down when it starts, so the reviews of its quarters grade it.
            session.execute(update(Goal).values(created_at=datetime(2025, 6, 20, tzinfo=UTC)))
        yield client, headers


@pytest.fixture
def card(sandbox: tuple[CheckedClient, dict[str, str]]) -> dict[str, Any]:
    client, headers = sandbox
    response = client.get("/api/v1/alignment", params={"as_of": AS_OF.isoformat()}, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def goals_of(objectives: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for objective in objectives:
        found |= {goal["title"]: goal for goal in objective["goals"]}
        found |= goals_of(objective["objectives"])
    return found


def test_the_example_plan_has_real_statuses(card: dict[str, Any]) -> None:
    goals = goals_of(card["objectives"])

    assert len(goals) == 9
    measured = [g["title"] for g in goals.values() if g["status"] != "no_data"]
    assert len(measured) >= 6, {t: g["reason"] for t, g in goals.items()}
    (top,) = card["objectives"]
    assert top["status"] != "no_data"


def test_revenue_goals_by_hand(card: dict[str, Any]) -> None:
    goals = goals_of(card["objectives"])
    june, december = world_mrr(date(2025, 6, 30)), world_mrr(date(2025, 12, 31))

    mrr = goals["Recurring revenue up 15 %"]
    # Baseline: MRR on 30 June (the month before the start); target: 15 % above it.
    assert mrr["baseline"] == pytest.approx(june)
    assert mrr["target"] == pytest.approx(round(june * 1.15, 2))
    assert mrr["current_value"] == pytest.approx(december)  # as of 31 Dec: December
    # Judged on the value as shown, to the dollar.
    expected_progress = (round(december) - june) / (mrr["target"] - june)
    assert mrr["progress_raw"] == pytest.approx(expected_progress, abs=1e-6)
    # The seeded "Halfway" milestone (progress 0.5) falls on 31 December, the as_of day.
    assert mrr["expected_progress"] == 0.5
    (halfway,) = mrr["milestones"]
    # It reads December (10,028.50 in this world), below the halfway target (10,347.68).
    assert (halfway["due_date"], halfway["status"]) == ("2025-12-31", "missed")
    assert halfway["value"] == pytest.approx(december)

    run_rate = goals["Run rate to $1M"]
    assert run_rate["baseline"] == pytest.approx(12 * june)
    assert run_rate["current_value"] == pytest.approx(12 * december)
    assert run_rate["progress_raw"] == pytest.approx(
        (12 * december - 12 * june) / (1_000_000 - 12 * june), abs=1e-6
    )
    assert run_rate["status"] in {"on_track", "at_risk", "off_track", "achieved"}


def test_the_2025_q4_review_reads_as_a_page(sandbox: tuple[CheckedClient, dict[str, str]]) -> None:
    client, headers = sandbox

    page = client.get("/api/v1/reviews/2025-Q4", params={"format": "html"}, headers=headers).text

    assert "<h1>Quarterly review 2025-Q4</h1>" in page
    assert "From 2025-10-01 to 2025-12-31" in page
    # Six objectives, each with goals of its own: a table each, statuses in words.
    assert page.count("<table>") == 6
    assert len(re.findall(r"<h[23]>", page)) == 6
    assert re.search(r'class="status (off_track|at_risk|on_track|achieved)">[A-Z][a-z]', page)
    assert "<script" not in page
