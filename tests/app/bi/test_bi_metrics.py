"""`/metrics` on the hand-made KPI world (tests/kpi_world.py), read with Prometheus' parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from plan_helpers import band_goal
from prometheus_client.parser import text_string_to_metric_families

from app.ingest.models import SyncCursor, SyncRun
from app.kpis.catalogue import CATALOGUE

AS_OF = "2025-03-01"  # the last complete month is February 2025


def scrape(api: Any, **params: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = api.client.get("/metrics", headers=api.read, params={"as_of": AS_OF, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        assert family.type == "gauge"
        families[family.name] = {
            tuple(sorted(sample.labels.items())): sample.value for sample in family.samples
        }
    return families


def test_metrics_need_an_api_key(api: Any) -> None:
    assert api.client.get("/metrics").status_code == 401
    bearer = api.client.get("/metrics", headers={"Authorization": api.admin["Authorization"]})
    assert bearer.status_code == 200


def test_metrics_parse_and_carry_goals_kpis_and_sync_health(kpi_source: Any) -> None:
    api = kpi_source
    _, goal = band_goal(api)
    source_id = api.setup.source_id
    success = datetime(2025, 3, 1, 12, tzinfo=UTC)
    with api.setup.context.db.session() as session:
        # The fixture's streams, each last synced after February ended in New York.
        for stream, synced, failures in [
            ("tickets", success, 0),
            ("clients", success - timedelta(hours=1), 3),
            ("ticket_sweep", success - timedelta(hours=2), 0),
        ]:
            cursor = session.get(SyncCursor, (source_id, stream))
            assert cursor is not None
            cursor.last_success_at, cursor.consecutive_failures = synced, failures
        session.add_all(
            [
                SyncRun(source_id=source_id, stream="tickets", trigger="cli", requests=7),
                SyncRun(source_id=source_id, stream="tickets", trigger="cli", requests=4),
                SyncRun(source_id=source_id, stream="clients", trigger="cli", requests=2),
            ]
        )

    families = scrape(api)

    labels = (
        ("goal", "hours_in_a_band_4_8"),
        ("goal_id", str(goal["id"])),
        ("kpi", "hours_logged"),
    )
    # February: 6 hours logged, inside 4–8 before the due date: on track (3). A band goal
    # has a record of months held, not a progress line: no progress sample.
    assert families["northstar_goal_status"] == {labels: 3.0}
    assert families["northstar_goal_progress"] == {}
    assert families["northstar_goal_current_value"] == {labels: 6.0}
    assert families["northstar_goal_expected_progress"] == {}

    kpis = {dict(k)["kpi"]: v for k, v in families["northstar_kpi_value"].items()}
    assert kpis["tickets_created"] == 1.0
    assert kpis["sla_response_pct"] == 50.0  # T2 missed, T4 met
    assert families["northstar_kpi_period_start_timestamp_seconds"] == {
        (): datetime(2025, 2, 1, tzinfo=UTC).timestamp()
    }
    # Every catalogue KPI with a February value says what the REST API says.
    for kpi in CATALOGUE:
        response = api.client.get(
            f"/api/v1/kpis/{kpi.key}/values",
            params={"grain": "month", "from": "2025-02-01", "to": "2025-03-01"},
            headers=api.read,
        )
        assert response.status_code == 200, response.text
        (row,) = response.json()["values"]
        assert kpis.get(kpi.key) == row["value"], kpi.key

    source = (("kind", "fakepsa"), ("source", "Fake PSA"), ("source_id", str(source_id)))
    assert families["northstar_source_last_success_timestamp_seconds"] == {
        source: success.timestamp()
    }
    assert families["northstar_source_consecutive_failures"] == {source: 3.0}
    assert families["northstar_source_last_run_requests"] == {source: 4.0 + 2.0}
    assert families["northstar_source_needs_attention"] == {source: 0.0}


def test_metrics_refuse_a_future_day(api: Any) -> None:
    response = api.client.get("/metrics", headers=api.read, params={"as_of": "2099-01-01"})
    assert response.status_code == 422
    assert response.json()["code"] == "as_of_in_future"
