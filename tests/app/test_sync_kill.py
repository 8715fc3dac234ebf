"""A sync killed with SIGKILL (during each stream, during a sweep, during the KPI rebuild),
then a normal sync: the source holds exactly what one clean sync of the same PSA stores, no
run is left running, no sweep rows are left behind, and the killed run says what it did.

The killed sync is `northstar sync` in a process of its own, frozen at the chosen moment
and killed there (tests/sync_kill_points.py); the normal sync runs in this process, with
the source's lock, as `northstar sync` would. Both PSAs, through their simulators.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import func, select
from stored_state import (
    AS_CLEAN,
    KINDS,
    add_sandbox_source,
    compared_with_a_clean_sync,
    failed_streams,
    leftovers,
    sync_holding_the_lock,
)
from sync_kill_points import KPI_REBUILD, FreezePoint, WarmNorthstar, kill_when_frozen

from app.api.context import ServiceContext
from app.db import Database
from app.ingest.models import RunStatus, SyncRun
from app.kpis.models import KpiDailyRollup
from app.settings import Settings
from connectors.autotask.streams import STREAMS as AUTOTASK_STREAMS
from connectors.connectwise.streams import STREAMS as CONNECTWISE_STREAMS
from connectors.sdk import StreamMode, StreamSpec

STREAMS: Mapping[str, Mapping[str, StreamSpec]] = {
    "connectwise": CONNECTWISE_STREAMS,
    "autotask": AUTOTASK_STREAMS,
}
STREAM_KILLS = [
    pytest.param(kind, name, id=f"{kind}-{name}") for kind in KINDS for name in STREAMS[kind]
]


@pytest.fixture(scope="module")
def northstar() -> Iterator[WarmNorthstar]:
    with WarmNorthstar() as warm:
        yield warm


@pytest.fixture
def context(settings: Settings, db: Database) -> ServiceContext:
    """The real connectors, sandbox sources served by their simulators."""
    return ServiceContext.build(settings, db=db)


@pytest.fixture
def northstar_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """What `northstar` needs to work on this test's database."""
    assert settings.encryption_key is not None
    return {
        **os.environ,
        "NORTHSTAR_DATABASE_URL": settings.database_url,
        "NORTHSTAR_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
        "NORTHSTAR_DEV_KEY_FILE": str(tmp_path / "dev.key"),
        "NORTHSTAR_LOG_FORMAT": "json",
    }


@pytest.fixture
def kill_sync(
    northstar: WarmNorthstar, northstar_env: dict[str, str], tmp_path: Path
) -> Callable[[int, FreezePoint], None]:
    """`northstar sync <source>`, SIGKILLed at a freeze point."""

    def kill(source_id: int, point: FreezePoint) -> None:
        args = ["sync", str(source_id)]
        kill_when_frozen(northstar, point, args, env=northstar_env, workdir=tmp_path)

    return kill


def latest_run(db: Database, source_id: int, stream: str) -> SyncRun:
    with db.session() as session:
        run = session.scalars(
            select(SyncRun)
            .where(SyncRun.source_id == source_id, SyncRun.stream == stream)
            .order_by(SyncRun.id.desc())
        ).first()
        assert run is not None, f"no run of {stream} was recorded"
        session.expunge(run)
        return run


def run_by_id(db: Database, run_id: int) -> SyncRun:
    with db.session() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


@pytest.mark.parametrize(("kind", "stream"), STREAM_KILLS)
def test_a_sync_killed_during_a_stream_ends_like_a_clean_sync_after_the_next(
    context: ServiceContext, kill_sync: Callable[[int, FreezePoint], None], kind: str, stream: str
) -> None:
    source_id = add_sandbox_source(context, kind)
    if STREAMS[kind][stream].mode is StreamMode.ID_SWEEP:
        # A sweep right after a complete first pass has nothing to find and may be skipped:
        # sweeps are killed in a later sync, the one that runs them.
        assert failed_streams(sync_holding_the_lock(context, source_id)) == []
    kill_sync(source_id, FreezePoint(stream))
    killed = latest_run(context.db, source_id, stream)
    assert (killed.status, killed.pages >= 1) == (RunStatus.RUNNING, True), "killed mid-stream"

    outcomes = sync_holding_the_lock(context, source_id)

    killed = run_by_id(context.db, killed.id)
    assert {
        **compared_with_a_clean_sync(context, kind, source_id, outcomes),
        # Every stored page took at least one request.
        "killed run": {
            "status": killed.status,
            "requests >= pages": killed.requests >= killed.pages,
        },
    } == {**AS_CLEAN, "killed run": {"status": RunStatus.INTERRUPTED, "requests >= pages": True}}


@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_killed_during_the_kpi_rebuild_ends_like_a_clean_sync_after_the_next(
    context: ServiceContext, kill_sync: Callable[[int, FreezePoint], None], kind: str
) -> None:
    source_id = add_sandbox_source(context, kind)
    kill_sync(source_id, FreezePoint(KPI_REBUILD))
    with context.db.session() as session:
        rollups = session.scalar(
            select(func.count())
            .select_from(KpiDailyRollup)
            .where(KpiDailyRollup.source_id == source_id)
        )
    # The kill landed after every stream and inside the rebuild, which stored nothing.
    assert (leftovers(context.db, source_id), rollups) == ({"KPI rebuild still pending": True}, 0)

    outcomes = sync_holding_the_lock(context, source_id)

    assert compared_with_a_clean_sync(context, kind, source_id, outcomes) == AS_CLEAN
