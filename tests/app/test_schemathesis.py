"""Schemathesis against the whole API, as an admin and as a reader (issue 15, acceptance).

The app is served on loopback over a fresh SQLite database holding a small world like the
demo's (one PSA's facts and KPIs, the example plan with its manual KPIs, snapshots and
check-ins), and Schemathesis runs every phase over the OpenAPI document, stateful included,
with a bounded number of examples and a fixed seed: no answer may be a server error, break
its documented schema, or carry a status or content type the document does not list.

No request leaves the machine: every PSA a source names (even one Schemathesis creates) is
answered by an in-process transport that refuses the credentials.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from kpi_world import FACTS, NY
from live_server import serve_on_loopback

from app.api.context import ServiceContext
from app.db import Database
from app.goals.examples import seed_example_plan
from app.goals.snapshots import take_alignment_snapshots
from app.kpis.dirty import store_facts
from app.kpis.rollup import refresh_dirty_days
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from app.sources.models import Source
from app.sources.service import create_source

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
)
MAX_EXAMPLES = 20  # per operation and phase: about 40 s per key on a CI machine
SEED = 20251201


@dataclass(frozen=True)
class Served:
    url: str
    keys: dict[str, str]
    workdir: Path


def refusing_psa(_source: Source) -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(
        lambda _request: httpx.Response(401, json={"message": "Credentials refused."})
    )


def build_world(settings: Settings) -> tuple[ServiceContext, dict[str, str]]:
    from app.cli import migrate_database

    migrate_database(settings)
    db = Database(settings.database_url)
    context = ServiceContext.build(settings, db=db, transports=refusing_psa)
    with db.session() as session:
        keys = {
            "admin": create_api_key(session, name="admin", scope=KeyScope.ADMIN).key,
            "read": create_api_key(session, name="read", scope=KeyScope.READ).key,
        }
        source = create_source(
            session,
            context.cipher,
            name="Northwind (ConnectWise)",
            kind="connectwise",
            config={
                "base_url": "https://psa.example.invalid",
                "company_id": "northwind",
                "public_key": "public",
                "private_key": "schemathesis-private-key",
                "client_id": "schemathesis-client-id",
            },
            fast_interval_minutes=5,
            slow_interval_minutes=60,
        )
        source_id = source.id
    with db.session() as session:
        store_facts(session, source_id, FACTS, NY)
        refresh_dirty_days(session, source_id, NY)
    today = datetime.now(NY).date()
    with db.session() as session:
        seed_example_plan(session, start=today.replace(day=1) - timedelta(days=90), today=today)
    for days_ago in (3, 2, 1):
        take_alignment_snapshots(db, settings, today - timedelta(days=days_ago))
    return context, keys


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{workdir / 'northstar.db'}",
        encryption_key=Fernet.generate_key().decode(),
        reporting_timezone="America/New_York",
        scheduler_enabled=False,
        log_format="json",
    )
    context, keys = build_world(settings)
    with serve_on_loopback(create_app(context=context, run_scheduler=False)) as url:
        yield Served(url=url, keys=keys, workdir=workdir)
    context.db.dispose()


def schemathesis(served: Served, scope: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{served.url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {served.keys[scope]}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--generation-with-security-parameters",
        "false",
        "--max-failures",
        "50",
        "--no-color",
    ]
    environment = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(  # noqa: S603 - our own tool, no shell
        command,
        cwd=served.workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("scope", ["admin", "read"])
def test_schemathesis_finds_no_server_error_schema_violation_or_undocumented_answer(
    served: Served, scope: str
) -> None:
    result = schemathesis(served, scope)

    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-20_000:]
    assert "Stateful" in report and "passed" in report, report[-5_000:]
