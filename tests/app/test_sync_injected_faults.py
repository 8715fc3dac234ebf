"""Syncs through a PSA that misbehaves on ~10 % of requests (429 with a short Retry-After,
500, 502, connections dropped before the request or before the answer, stalls past the read
timeout) and twice refuses for an hour (a spent quota, which fails the stream in flight),
repeated until no stream fails, then a normal sync: the source holds exactly what one clean
sync of the same PSA stores, no run is left running and no sweep rows are left behind. And a
sync whose every endpoint answers 500 once is that clean sync itself: no kind of request
turns a passing fault into a lasting one.

The faults are tests/fault_injection.py's, seeded, around each PSA's own simulator.
"""

from __future__ import annotations

import httpx
import pytest
from fault_injection import TRANSIENT_FAULTS, Fault, FaultPlan, FaultTally, FaultyTransport
from stored_state import (
    AS_CLEAN,
    KINDS,
    add_sandbox_source,
    compared_with_a_clean_sync,
    failed_streams,
    sync_holding_the_lock,
)

import app.sources.service
from app.api.context import ServiceContext
from app.db import Database
from app.ingest.sandbox import sandbox_transport
from app.settings import Settings
from app.sources.models import Source
from app.sources.service import SourceBudgets
from connectors.autotask.zone import AutotaskZoneResolver
from connectors.sdk.http import RetryPolicy

# Each spent quota stops one sync; the transient faults are retried within a run.
QUOTA_SPENT_AT = (20, 40)
MAX_FAULTY_SYNCS = len(QUOTA_SPENT_AT) + 4
# Seeds under which each vendor's syncs meet every kind of fault (the mix is asserted below):
# a change to the requests a sync makes may need a new one.
SEEDS = {"connectwise": 19, "autotask": 45}


@pytest.fixture(autouse=True)
def as_in_a_new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What syncs remember per process (Autotask's zone, the per-source request budgets and
    what hangs off them) starts empty, as in a new `northstar` process: else which requests
    a sync makes, and so which of them the plan hits, would depend on the tests run before."""
    monkeypatch.setattr(AutotaskZoneResolver, "_cache", {})
    monkeypatch.setattr(app.sources.service, "budgets", SourceBudgets())


@pytest.fixture(autouse=True)
def shorter_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's backoff between retries, a tenth as long: the same retries, less waiting.
    A Retry-After is still waited out in full."""
    backoff = RetryPolicy.backoff
    monkeypatch.setattr(
        RetryPolicy, "backoff", lambda policy, attempt: backoff(policy, attempt) / 10
    )


def faulty_context(
    settings: Settings, db: Database, plan: FaultPlan, tally: FaultTally
) -> ServiceContext:
    def faulty_simulator(source: Source) -> httpx.AsyncBaseTransport:
        simulator = sandbox_transport(source)
        assert simulator is not None, "a sandbox source"
        return FaultyTransport(simulator, plan, tally)

    return ServiceContext.build(settings, db=db, transports=faulty_simulator)


@pytest.mark.parametrize("kind", KINDS)
def test_syncs_through_injected_faults_end_like_a_clean_sync_after_a_normal_one(
    settings: Settings, db: Database, kind: str
) -> None:
    plan = FaultPlan(seed=SEEDS[kind], quota_spent_at=QUOTA_SPENT_AT)
    tally = FaultTally()
    faulty = faulty_context(settings, db, plan, tally)
    source_id = add_sandbox_source(faulty, kind)
    failures = []
    for _ in range(MAX_FAULTY_SYNCS):
        failures.append(failed_streams(sync_holding_the_lock(faulty, source_id)))
        if not failures[-1]:
            break
    # The faults were what the test says they are: every kind, about a tenth of requests.
    share = sum(tally.injected[fault] for fault in TRANSIENT_FAULTS) / tally.requests
    assert (set(tally.injected), 0.05 <= share <= 0.2) == (set(Fault), True), tally.summary
    assert failures[0] != [] and failures[-1] == [], f"failed streams, sync by sync: {failures}"

    normal = ServiceContext.build(settings, db=db)
    outcomes = sync_holding_the_lock(normal, source_id)

    assert compared_with_a_clean_sync(normal, kind, source_id, outcomes) == AS_CLEAN


@pytest.mark.parametrize("kind", KINDS)
def test_a_500_as_the_first_answer_of_every_endpoint_leaves_no_mark(
    settings: Settings, db: Database, kind: str
) -> None:
    plan = FaultPlan(seed=0, rate=0.0, first_answer_of_each_endpoint=Fault.SERVER_ERROR)
    tally = FaultTally()
    faulty = faulty_context(settings, db, plan, tally)
    source_id = add_sandbox_source(faulty, kind)

    outcomes = sync_holding_the_lock(faulty, source_id)

    normal = ServiceContext.build(settings, db=db)
    compared = compared_with_a_clean_sync(normal, kind, source_id, outcomes)
    assert compared == AS_CLEAN, f"{tally.summary}, one for each of: {sorted(tally.endpoints)}"
