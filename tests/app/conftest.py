from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fake_psa import (
    TOKEN,
    FakeConnector,
    FakePsaApi,
    FakeSetup,
    FakeWorld,
    add_fake_source,
    make_clients,
    make_tickets,
    mark_synced,
)
from kpi_world import FACTS, HISTORY_FROM, NY
from leak_guard import CheckedClient

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.registry import registry
from app.kpis.dirty import store_facts
from app.kpis.rollup import refresh_dirty_days
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings


@pytest.fixture
def fake_registry() -> Iterator[None]:
    with registry.override({"fakepsa": FakeConnector}):  # type: ignore[dict-item]
        yield


@pytest.fixture
def fake_world() -> FakeWorld:
    api = FakePsaApi(token=TOKEN)
    api.records = {"clients": make_clients(5), "tickets": make_tickets(35)}
    return FakeWorld(apis={TOKEN: api})


@pytest.fixture
def fake(settings: Settings, db: Database, fake_registry: None, fake_world: FakeWorld) -> FakeSetup:
    context = ServiceContext.build(settings, db=db, transports=fake_world.transport_for)
    return FakeSetup(
        context=context, api=fake_world.apis[TOKEN], source_id=add_fake_source(context)
    )


@dataclass
class Api:
    client: CheckedClient
    admin: dict[str, str]
    read: dict[str, str]
    setup: FakeSetup


@pytest.fixture
def api(fake: FakeSetup) -> Iterator[Api]:
    with fake.context.db.session() as session:
        admin = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
        read = create_api_key(session, name="read", scope=KeyScope.READ).key
    app = create_app(context=fake.context, run_scheduler=False)
    with CheckedClient(app) as client:
        yield Api(
            client=client,
            admin={"Authorization": f"Bearer {admin}"},
            read={"X-API-Key": read},
            setup=fake,
        )


@pytest.fixture
def kpi_source(api: Api) -> Api:
    """The hand-made facts of tests/kpi_world.py stored through the sync path (facts, dirty
    days, refresh), served with New York as the reporting time zone. The source counts as
    backfilled from 1 January 2024 and synced just now (see app.kpis.coverage)."""
    context = api.setup.context
    context.settings = context.settings.model_copy(
        update={"reporting_timezone": "America/New_York"}
    )
    context.runner.settings = context.settings
    with context.db.session() as session:
        store_facts(session, api.setup.source_id, FACTS, NY)
        refresh_dirty_days(session, api.setup.source_id, NY)
    mark_synced(context.db, api.setup.source_id, since=HISTORY_FROM, tz=NY)
    return api
