"""The `bi_*` SQL views (PostgreSQL) against the REST API, and the read-only BI login."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
from db_targets import ON_POSTGRES, PG_URL
from kpi_world import FACTS
from plan_helpers import band_goal
from sqlalchemy import Engine, create_engine, make_url, text

from app.bi.sqlviews import create_readonly_user
from app.cli import main
from app.errors import InvalidInput
from app.goals.snapshots import take_alignment_snapshots
from app.settings import Settings, get_settings

MONTHS = ["2025-01-01", "2025-02-01", "2025-03-01"]
# KPI → the same ratio (or sum) over the company-wide rows of bi_kpi_monthly.
MONTHLY_SQL = {
    "tickets_created": "SUM(tickets_created)",
    "tickets_closed": "SUM(tickets_closed)",
    "hours_logged": "SUM(hours)",
    "sla_response_pct": "100.0 * SUM(response_met) / NULLIF(SUM(response_decided), 0)",
    "sla_resolution_pct": "100.0 * SUM(resolution_met) / NULLIF(SUM(resolution_decided), 0)",
    "avg_response_hours": "SUM(response_hours_sum) / NULLIF(SUM(response_count), 0)",
    "avg_resolution_hours": "SUM(resolution_hours_sum) / NULLIF(SUM(resolution_count), 0)",
    "csat_pct": "100.0 * SUM(csat_good) / NULLIF(SUM(csat_count), 0)",
}


@pytest.fixture
def engine(kpi_source: Any) -> Iterator[Engine]:
    made = create_engine(kpi_source.setup.context.settings.database_url)
    yield made
    made.dispose()


def api_values(api: Any, key: str, grain: str, start: str, end: str) -> dict[str, Any]:
    response = api.client.get(
        f"/api/v1/kpis/{key}/values",
        params={"grain": grain, "from": start, "to": end},
        headers=api.read,
    )
    assert response.status_code == 200, response.text
    return {row["period_start"]: row["value"] for row in response.json()["values"]}


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQL views are tested in the PostgreSQL pass")
@pytest.mark.parametrize("key", sorted(MONTHLY_SQL))
def test_monthly_view_answers_what_the_api_answers(
    kpi_source: Any, engine: Engine, key: str
) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT month, {MONTHLY_SQL[key]} FROM bi_kpi_monthly "  # noqa: S608
                "WHERE dimension = 'all' GROUP BY month"
            )
        ).all()
    from_sql = {str(month): value for month, value in rows}
    from_api = api_values(kpi_source, key, "month", MONTHS[0], "2025-04-01")
    counts = key in ("tickets_created", "tickets_closed", "hours_logged")
    for month in MONTHS:
        # A month without any activity has no rollup row: a count of 0, a ratio of none.
        expected = from_api[month]
        got = from_sql.get(month, 0.0 if counts else None)
        assert got == (None if expected is None else pytest.approx(expected)), (key, month)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQL views are tested in the PostgreSQL pass")
def test_daily_view_and_its_ratio_columns_match_the_api(kpi_source: Any, engine: Engine) -> None:
    with engine.connect() as conn:
        created: dict[date, float] = dict(
            conn.execute(
                text(
                    "SELECT day, tickets_created FROM bi_kpi_daily WHERE dimension = 'all' "
                    "AND day BETWEEN '2025-01-31' AND '2025-02-01'"
                )
            ).all()
        )
        (sla,) = conn.execute(
            text(
                "SELECT sla_response_pct FROM bi_kpi_monthly WHERE dimension = 'all' "
                "AND month = '2025-02-01'"
            )
        ).scalars()
    api_created = api_values(kpi_source, "tickets_created", "day", "2025-01-31", "2025-02-02")
    assert created.get(date(2025, 1, 31), 0.0) == api_created["2025-01-31"] == 1.0
    assert created.get(date(2025, 2, 1), 0.0) == api_created["2025-02-01"] == 0.0
    api_sla = api_values(kpi_source, "sla_response_pct", "month", "2025-02-01", "2025-03-01")
    assert sla == pytest.approx(api_sla["2025-02-01"]) == 50.0


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQL views are tested in the PostgreSQL pass")
def test_fact_views_resolve_names(kpi_source: Any, engine: Engine) -> None:
    with engine.connect() as conn:
        tickets = conn.execute(
            text("SELECT external_id, client, technician, source FROM bi_tickets")
        ).all()
        entries = conn.execute(text("SELECT SUM(hours) FROM bi_time_entries")).scalar_one()
        clients = conn.execute(text("SELECT COUNT(*) FROM bi_clients")).scalar_one()
        technicians = conn.execute(text("SELECT COUNT(*) FROM bi_technicians")).scalar_one()
    assert len(tickets) == sum(type(f).__name__ == "TicketFact" for f in FACTS)
    assert all(row.source == "Fake PSA" for row in tickets)
    assert any(row.client is not None and row.technician is not None for row in tickets)
    assert entries == sum(
        getattr(f, "hours", 0.0) for f in FACTS if "TimeEntry" in type(f).__name__
    )
    assert clients == sum(type(f).__name__ == "ClientFact" for f in FACTS)
    assert technicians == sum(type(f).__name__ == "TechnicianFact" for f in FACTS)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQL views are tested in the PostgreSQL pass")
def test_goal_alignment_view_shows_the_latest_snapshot(kpi_source: Any, engine: Engine) -> None:
    api = kpi_source
    _, goal = band_goal(api, objective="Calm", title="Hours in a band")
    context = api.setup.context
    for day in (date(2025, 2, 1), date(2025, 3, 1)):
        take_alignment_snapshots(context.db, context.settings, day)
    expected = api.client.get(
        f"/api/v1/goals/{goal['id']}/alignment", headers=api.read, params={"as_of": "2025-03-01"}
    ).json()

    with engine.connect() as conn:
        (row,) = conn.execute(text("SELECT * FROM bi_goal_alignment")).mappings().all()

    assert row["goal_id"] == goal["id"] and row["objective"] == "Calm"
    assert row["snapshot_day"] == date(2025, 3, 1)
    assert (
        (row["status"], row["current_value"], row["progress"])
        == (
            expected["status"],
            expected["current_value"],
            expected["progress"],
        )
        == ("on_track", 6.0, None)  # a band held before its due date; no progress line
    )


@pytest.fixture
def role_name() -> Iterator[str]:
    """A role unique to this run (roles are shared by every database on the server)."""
    name = f"northstar_bi_test_{os.getpid()}"
    yield name
    if ON_POSTGRES:
        cleanup = create_engine(PG_URL)
        with cleanup.begin() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}
            ).first()
            if exists:
                conn.execute(text(f'DROP OWNED BY "{name}"'))
                conn.execute(text(f'DROP ROLE "{name}"'))
        cleanup.dispose()


def connect_as(name: str, password: str) -> psycopg.Connection[Any]:
    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        dbname=url.database,
        user=name,
        password=password,
        autocommit=True,
    )


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQL views are tested in the PostgreSQL pass")
def test_readonly_login_reads_views_and_cannot_write(
    kpi_source: Any, engine: Engine, role_name: str
) -> None:
    login = create_readonly_user(engine, role_name, "it's a secret")
    again = create_readonly_user(engine, role_name, "it's another")  # idempotent: updates

    assert again.user == login.user == role_name
    assert not login.can_create_tables  # PostgreSQL 15+ by default
    assert "bi_kpi_monthly" in login.views and "bi_tickets" in login.views
    with connect_as(role_name, "it's another") as conn:
        assert conn.execute("SELECT COUNT(*) FROM bi_kpi_monthly").fetchone() is not None
        for statement in (
            "INSERT INTO sources (name, kind) VALUES ('x', 'y')",
            "UPDATE kpi_monthly_rollups SET tickets_created = 0",
            "DELETE FROM tickets",
            "SELECT * FROM api_keys",
            "SELECT secrets_encrypted FROM sources",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        (writable,) = conn.execute(
            "SELECT COUNT(*) FROM pg_views WHERE viewname LIKE 'bi\\_%' AND "
            "(has_table_privilege(viewname, 'INSERT') OR has_table_privilege(viewname, 'UPDATE') "
            "OR has_table_privilege(viewname, 'DELETE'))"
        ).fetchone() or (None,)
        assert writable == 0


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQL views are tested in the PostgreSQL pass")
def test_readonly_login_refuses_to_demote_the_owner(kpi_source: Any, engine: Engine) -> None:
    owner = make_url(PG_URL).username or "postgres"

    with pytest.raises(InvalidInput) as refused:
        create_readonly_user(engine, owner, "pw")

    assert refused.value.code == "role_not_readonly"


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", settings.database_url)
    key = settings.encryption_key
    monkeypatch.setenv("NORTHSTAR_ENCRYPTION_KEY", key.get_secret_value() if key else "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="SQL views are tested in the PostgreSQL pass")
@pytest.mark.usefixtures("cli_env")
def test_cli_prints_what_to_paste_into_metabase(
    role_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bi", "create-readonly-user", "--name", role_name, "--password", "pw1"]) == 0

    printed = capsys.readouterr().out
    url = make_url(PG_URL)
    assert f"Database:  {url.database}" in printed
    assert f"User:      {role_name}" in printed
    assert "Password:  pw1" in printed
    assert f"Host:      {url.host}" in printed


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite explanation is tested in the SQLite pass")
@pytest.mark.usefixtures("cli_env")
def test_cli_on_sqlite_explains_views_need_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bi", "create-readonly-user"]) == 2

    assert "PostgreSQL feature" in capsys.readouterr().err
