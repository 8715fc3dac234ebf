"""Same world, same numbers: the sandbox world synced once through the ConnectWise simulator
and once through the Autotask simulator gives every KPI the same value in every month of
2025, read through the API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from leak_guard import CheckedClient
from source_checks import check_source

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.sandbox import sandbox_base_url, sandbox_support
from app.kpis.catalogue import CATALOGUE
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from app.sources.service import create_source

SEED, TICKETS = 11, 900


@pytest.fixture(scope="module")
def both(
    module_settings: Settings,
) -> Iterator[tuple[CheckedClient, dict[str, str], dict[str, int]]]:
    """Synced once for the module (the tests only read it): two syncs of 900 tickets."""
    settings = module_settings
    db = Database(settings.database_url)
    context = ServiceContext.build(settings, db=db)
    ids = {}
    with db.session() as session:
        for kind in ("connectwise", "autotask"):
            support = sandbox_support(kind)
            assert support is not None
            ids[kind] = create_source(
                session,
                context.cipher,
                name=kind,
                kind=kind,
                config=support.source_config(sandbox_base_url(SEED, TICKETS)),
                fast_interval_minutes=5,
                slow_interval_minutes=60,
            ).id
        key = create_api_key(session, name="read", scope=KeyScope.READ).key
    for source_id in ids.values():
        assert check_source(context, source_id).ok  # against the simulators: active
        result = asyncio.run(context.runner.sync_source(source_id, trigger="cli"))
        assert [(o.stream, o.error_code) for o in result if o.error_code] == []
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        yield client, {"X-API-Key": key}, ids
    db.dispose()


def series(client: CheckedClient, headers: dict[str, str], key: str, **query: Any) -> list[Any]:
    response = client.get(
        f"/api/v1/kpis/{key}/values",
        params={"grain": "month", "from": "2025-01-01", "to": "2026-01-01", **query},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [(row["value"], row["sample_size"]) for row in response.json()["values"]]


def test_every_kpi_agrees_between_the_two_psas_in_every_month(
    both: tuple[CheckedClient, dict[str, str], dict[str, int]],
) -> None:
    client, headers, ids = both
    disagreements = {}
    for kpi in CATALOGUE:
        cw = series(client, headers, kpi.key, source=ids["connectwise"])
        at = series(client, headers, kpi.key, source=ids["autotask"])
        same = all(
            (a[0] is None and b[0] is None)
            or (a[0] is not None and b[0] is not None and a[0] == pytest.approx(b[0], rel=1e-9))
            for a, b in zip(cw, at, strict=True)
        ) and [a[1] for a in cw] == [b[1] for b in at]
        if not same:
            disagreements[kpi.key] = {"connectwise": cw, "autotask": at}
    assert disagreements == {}
    # Not a vacuous comparison: the world has activity in every month.
    assert all(v > 0 for v, _ in series(client, headers, "tickets_created", source=ids["autotask"]))


def test_priority_levels_agree_although_the_labels_differ(
    both: tuple[CheckedClient, dict[str, str], dict[str, int]],
) -> None:
    client, headers, ids = both

    for level in ("P1", "P2", "P3", "P4"):
        cw = series(client, headers, "sla_response_pct", source=ids["connectwise"], priority=level)
        at = series(client, headers, "sla_response_pct", source=ids["autotask"], priority=level)
        assert cw == at, level
