"""The demo world for the directory tests: both sandbox PSAs (ConnectWise and the acquired
Autotask) synced through the real sync path, served through the real app. Built once for the
package (syncing takes seconds); every test leaves the links and rejections as it found them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from db_targets import ON_POSTGRES
from leak_guard import CheckedClient
from sqlalchemy import create_engine, delete, select, text

from app.api.context import ServiceContext
from app.db import Database
from app.demo import DEMO_SOURCES, ensure_demo_sources, sync_demo_sources
from app.directory.models import EntityLink, LinkDecision, LinkedEntity
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.sources.models import Source


@dataclass
class Demo:
    client: CheckedClient
    db: Database
    context: ServiceContext
    admin: dict[str, str]
    read: dict[str, str]
    connectwise: int  # source ids
    autotask: int


def _fresh_database(request: pytest.FixtureRequest, tmp: Path) -> str:
    if ON_POSTGRES:
        url: str = request.getfixturevalue("_postgres_schema")
        engine = create_engine(url)
        with engine.begin() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).scalars()
            names = ", ".join(tables)
            if names:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return url
    template: Path = request.getfixturevalue("_sqlite_template")
    path = tmp / "demo.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="package")
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    from tests.conftest import _settings_for

    tmp = tmp_path_factory.mktemp("directory-demo")
    url = _fresh_database(request, tmp)
    settings = _settings_for(url, dev_key_file=tmp / "demo.key")
    db = Database(url)
    context = ServiceContext.build(settings, db=db)
    sync_demo_sources(context, ensure_demo_sources(context))
    with db.session() as session:
        admin = create_api_key(session, name="directory admin", scope=KeyScope.ADMIN).key
        read = create_api_key(session, name="directory read", scope=KeyScope.READ).key
        ids = {
            s.name: s.id for s in session.scalars(select(Source).where(Source.name.is_not(None)))
        }
    app = create_app(context=context, run_scheduler=False)
    with CheckedClient(app) as client:
        yield Demo(
            client=client,
            db=db,
            context=context,
            admin={"Authorization": f"Bearer {admin}"},
            read={"X-API-Key": read},
            connectwise=ids[DEMO_SOURCES[0].name],
            autotask=ids[DEMO_SOURCES[1].name],
        )
    db.dispose()


@pytest.fixture
def clean_links(demo: Demo) -> Iterator[Demo]:
    """The demo, with every link and rejection made during the test undone afterwards."""
    yield demo
    with demo.db.session() as session:
        session.execute(delete(EntityLink))
        session.execute(delete(LinkedEntity))
        session.execute(delete(LinkDecision))
