"""A sandbox source end to end: added through the API, synced by the runner through the
in-process simulator, and its KPIs read back equal to the sandbox world's own truth."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from leak_guard import CheckedClient

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.sandbox import sandbox_base_url, sandbox_support, sandbox_world
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from connectors.sandbox.index import monthly_amount_on
from connectors.sandbox.model import TicketState

SEED, TICKETS = 5, 400
MONTHS = [date(2025, m, 1) for m in range(1, 13)]


def month_index(day: date) -> int:
    return day.month - 1 if day.year == 2025 else -1


def expected_created_and_closed() -> tuple[list[float], list[float]]:
    world = sandbox_world(SEED, TICKETS)
    created, closed = [0.0] * 12, [0.0] * 12
    for ticket in world.tickets:
        if ticket.deleted or ticket.merged_into is not None:
            continue
        if (i := month_index(ticket.created_at.date())) >= 0:
            created[i] += 1
        closed_on = ticket.closed_at.date() if ticket.closed_at else None
        if ticket.state is TicketState.CLOSED and closed_on and (i := month_index(closed_on)) >= 0:
            closed[i] += 1
    return created, closed


def expected_mrr() -> list[float]:
    world = sandbox_world(SEED, TICKETS)
    ends = [
        (m.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1) for m in MONTHS
    ]
    return [
        float(
            sum((monthly_amount_on(a, end) for a in world.agreements if not a.deleted), Decimal(0))
        )
        for end in ends
    ]


@pytest.fixture
def sandbox_client(
    settings: Settings, db: Database
) -> Iterator[tuple[CheckedClient, dict[str, str]]]:
    """The real connector registry and the default (sandbox-aware) transports."""
    context = ServiceContext.build(settings, db=db)
    with db.session() as session:
        key = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        client.app.state.context = context  # type: ignore[attr-defined]
        yield client, {"X-API-Key": key}


@pytest.mark.parametrize("kind", ["connectwise", "autotask"])
def test_a_sandbox_source_syncs_and_its_kpis_match_the_world(
    sandbox_client: tuple[CheckedClient, dict[str, str]], kind: str
) -> None:
    client, headers = sandbox_client
    support = sandbox_support(kind)
    assert support is not None, f"the {kind} connector ships a simulator"
    config = support.source_config(sandbox_base_url(SEED, TICKETS))
    created = client.post(
        "/api/v1/sources",
        headers=headers,
        json={"name": f"{kind} sandbox", "kind": kind, "config": config},
    )
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    assert client.post(f"/api/v1/sources/{source_id}/check", headers=headers).json()["ok"]
    context: ServiceContext = client.app.state.context  # type: ignore[attr-defined]

    result = asyncio.run(context.runner.sync_source(source_id, trigger="cli"))

    assert [(o.stream, o.error_code) for o in result if o.error_code] == []

    def series(key: str) -> list[float | None]:
        response = client.get(
            f"/api/v1/kpis/{key}/values",
            params={"from": "2025-01-01", "to": "2026-01-01", "source": source_id},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        return [row["value"] for row in response.json()["values"]]

    created_by_month, closed_by_month = expected_created_and_closed()
    assert series("tickets_created") == created_by_month
    assert series("tickets_closed") == closed_by_month
    assert series("mrr") == [pytest.approx(v) for v in expected_mrr()]
