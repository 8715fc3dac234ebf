from __future__ import annotations

from collections.abc import Iterator

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
)

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.registry import registry
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
