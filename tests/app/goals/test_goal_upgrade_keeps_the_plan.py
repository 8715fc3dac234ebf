"""Upgrading a database made by the previous release (schema revision 0008) to this one
keeps every objective, goal, milestone, check-in, snapshot and observation as it was.

The fixture database is built here, at 0008, with SQL only (the models describe today's
schema, not that one): a plan with every kind of goal, milestones, check-ins on goals and
objectives, a daily snapshot, and observations of a manual KPI. Runs on SQLite, and on
PostgreSQL in the PostgreSQL pass."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, create_engine, insert, select
from sqlalchemy.orm import Session

from app.goals.models import CheckIn, Goal, Milestone, Objective
from app.goals.schemas import CheckInOut, GoalOut, MilestoneOut, ObjectiveOut
from tests.app.test_migrations import alembic_config

PREVIOUS_RELEASE = "0008"
KEPT = (
    "objectives",
    "goals",
    "goal_milestones",
    "goal_check_ins",
    "goal_alignment_snapshots",
    "manual_kpis",
    "kpi_observations",
)
NEW_COLUMNS = {
    "objectives": {"win_feels_like", "archived_at"},
    "goals": {"archived_at", "scope_second_dim", "scope_second_value"},
    "kpi_observations": {"recorded_by"},
}


def _moment(engine: Engine, day: int) -> datetime:
    moment = datetime(2025, 1, day, 9, 30, tzinfo=UTC)
    # As 0008 stored them: SQLite without a zone, PostgreSQL with one.
    return moment.replace(tzinfo=None) if engine.dialect.name == "sqlite" else moment


def _goal(engine: Engine, id_: int, objective_id: int, kind: str, **terms: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "objective_id": objective_id,
        "title": f"A {kind} goal",
        "kpi_key": "team_pulse",
        "scope_dim": "all",
        "scope_value": "",
        "kind": kind,
        "baseline": terms.get("baseline"),
        "baseline_computed": False,
        "target": terms.get("target"),
        "low": terms.get("low"),
        "high": terms.get("high"),
        "start_date": date(2025, 1, 1),
        "due_date": date(2025, 12, 31),
        "evaluation_grain": "month",
        "judge_partial": kind == "band",
        "weight": 1.5,
        "created_at": _moment(engine, 2),
        "updated_at": _moment(engine, 3),
    }


def fill_release_0008(engine: Engine) -> None:
    """The plan an owner of the previous release would have, written as that schema was."""
    tables = MetaData()
    tables.reflect(engine)
    t = tables.tables
    created = {"created_at": _moment(engine, 1), "updated_at": _moment(engine, 1)}
    rows: dict[str, list[dict[str, Any]]] = {
        "manual_kpis": [
            {
                "key": "team_pulse",
                "name": "Team pulse",
                "unit": "score",
                "direction": "up",
                "aggregation": "mean",
                "scale_min": 1,
                "scale_max": 10,
                "created_at": _moment(engine, 1),
            }
        ],
        "objectives": [
            {
                "id": 1,
                "title": "Calm, confident team",
                "purpose": "So they stop firefighting",
                "owner": "Sam",
                "horizon": "3 years",
                "weight": 1.0,
                **created,
            },
            {
                "id": 2,
                "parent_id": 1,
                "title": "Less reactive in 12 months",
                "owner": "Dana",
                "horizon": "12 months",
                "weight": 2.0,
                **created,
            },
        ],
        "goals": [
            _goal(engine, 1, 2, "increase", baseline=5, target=7.5),
            _goal(engine, 2, 2, "decrease", baseline=8, target=4),
            _goal(engine, 3, 1, "stay_above", target=6),
            _goal(engine, 4, 1, "stay_below", target=9),
            _goal(engine, 5, 1, "band", low=6, high=8),
        ],
        "goal_milestones": [
            {
                "id": 1,
                "goal_id": 1,
                "title": "Halfway",
                "due_date": date(2025, 6, 30),
                "target": 6.25,
                "created_at": _moment(engine, 4),
            },
            {
                "id": 2,
                "goal_id": 3,
                "title": None,
                "due_date": date(2025, 3, 31),
                "target": None,
                "created_at": _moment(engine, 4),
            },
        ],
        "goal_check_ins": [
            {
                "id": 1,
                "goal_id": 1,
                "objective_id": None,
                "check_in_date": date(2025, 2, 1),
                "confidence": 7,
                "note": "Runbooks help",
                "author": "Sam",
                "created_at": _moment(engine, 5),
            },
            {
                "id": 2,
                "goal_id": None,
                "objective_id": 2,
                "check_in_date": date(2025, 2, 8),
                "confidence": 4,
                "note": None,
                "author": None,
                "created_at": _moment(engine, 6),
            },
        ],
        "goal_alignment_snapshots": [
            {
                "id": 1,
                "goal_id": 1,
                "day": date(2025, 2, 1),
                "status": "on_track",
                "progress": 0.4,
                "progress_raw": 0.4,
                "expected_progress": 0.1,
                "pace": 4.0,
                "reason": "Ahead of plan",
                "current_value": 6.0,
                "baseline": 5.0,
                "window_start": date(2025, 1, 1),
                "window_end": date(2025, 2, 1),
                "forecast": {"probability": 0.8},
                "detail": {"milestones": []},
                "created_at": _moment(engine, 7),
            },
        ],
        "kpi_observations": [
            {
                "id": n,
                "kpi_key": "team_pulse",
                "observed_on": date(2025, 1, 7 * n),
                "value": 5 + n / 2,
                "note": "weekly pulse" if n % 2 else None,
                "created_at": _moment(engine, 7 * n),
            }
            for n in range(1, 5)
        ],
    }
    with engine.begin() as connection:
        for name in KEPT:
            for row in rows[name]:
                connection.execute(insert(t[name]).values(**row))


def every_row(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    tables = MetaData()
    tables.reflect(engine, only=KEPT)
    out = {}
    with engine.connect() as connection:
        for name in KEPT:
            table = tables.tables[name]
            key = table.c.key if name == "manual_kpis" else table.c.id
            out[name] = [dict(r._mapping) for r in connection.execute(select(table).order_by(key))]
    return out


@pytest.mark.db
def test_upgrading_from_the_previous_release_keeps_every_row(database_url: str) -> None:
    config = alembic_config(database_url)
    engine = create_engine(database_url)
    try:
        command.downgrade(config, "base")
        command.upgrade(config, PREVIOUS_RELEASE)
        fill_release_0008(engine)
        before = every_row(engine)

        command.upgrade(config, "head")
        after = every_row(engine)

        for name in KEPT:
            assert len(after[name]) == len(before[name]) > 0, name
            for old, new in zip(before[name], after[name], strict=True):
                assert {c: new[c] for c in old} == old, name
                added = set(new) - set(old)
                assert added == NEW_COLUMNS.get(name, set()), name
                assert all(new[c] is None for c in added), name
        # And today's models read them all.
        with Session(engine) as session:
            objectives = [ObjectiveOut.of(o) for o in session.scalars(select(Objective))]
            goals = [GoalOut.of(g) for g in session.scalars(select(Goal))]
            milestones = [MilestoneOut.of(m) for m in session.scalars(select(Milestone))]
            check_ins = [CheckInOut.of(c) for c in session.scalars(select(CheckIn))]
        assert [o.archived_at for o in objectives] == [None, None]
        assert sorted(g.kind.value for g in goals) == sorted(
            ["increase", "decrease", "stay_above", "stay_below", "band"]
        )
        assert [m.target for m in milestones] == [6.25, None]
        assert [c.author for c in check_ins] == ["Sam", None]
    finally:
        command.upgrade(config, "head")  # the next test finds the schema it expects
        engine.dispose()
