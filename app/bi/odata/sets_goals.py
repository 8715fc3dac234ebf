"""Goals (with their alignment now), objectives and the daily alignment snapshots.

A goal's alignment in the feed is the one `GET /api/v1/goals/{id}/alignment` gives now: each
request evaluates the goals as of today (the same engine, which uses today's snapshot when
it has been taken), so a status never waits for the night's snapshot. The values are put
into the query as data, so `Status eq 'off_track'` still filters in the database.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Float, String, case, cast, literal, null, select, type_coerce

from app.bi.odata.model import EntitySet, Nav, Prop, Reading, declared
from app.goals.config import get_thresholds
from app.goals.evaluate import AlignmentEngine
from app.goals.models import AlignmentSnapshot, Goal, Objective
from app.goals.views import GoalAlignmentOut

_ALIGNMENT = [
    ("Status", "Edm.String", "status"),
    ("Progress", "Edm.Double", "progress"),
    ("ExpectedProgress", "Edm.Double", "expected_progress"),
    ("Pace", "Edm.Double", "pace"),
    ("CurrentValue", "Edm.Double", "current_value"),
    ("Reason", "Edm.String", "reason"),
    ("WindowStart", "Edm.Date", "window_start"),
    ("WindowEnd", "Edm.Date", "window_end"),
]
_SQL_TYPES = {"Edm.String": String, "Edm.Double": Float, "Edm.Date": Date}


def _objectives() -> EntitySet:
    c = Objective.__table__.c
    props = (
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("ParentId", "Edm.Int64", c.parent_id),
        Prop("Title", "Edm.String", c.title, nullable=False),
        Prop("Purpose", "Edm.String", c.purpose),
        Prop("Owner", "Edm.String", c.owner),
        Prop("Horizon", "Edm.String", c.horizon),
        Prop("Weight", "Edm.Double", c.weight, nullable=False),
        Prop("CreatedAt", "Edm.DateTimeOffset", c.created_at, nullable=False),
        Prop("UpdatedAt", "Edm.DateTimeOffset", c.updated_at, nullable=False),
    )
    return EntitySet(
        "Objectives",
        "Objective",
        Objective.__table__,
        ("Id",),
        props,
        "Objectives (OKR style).",
        navs=(
            Nav("Parent", "Objectives", "ParentId"),
            Nav("Goals", "Goals", "Id", "ObjectiveId", collection=True),
        ),
    )


def _snapshots() -> EntitySet:
    c = AlignmentSnapshot.__table__.c
    props = (
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("GoalId", "Edm.Int64", c.goal_id, nullable=False),
        Prop("Date", "Edm.Date", c.day, nullable=False),
        *(Prop(name, edm, c[column], column != "status") for name, edm, column in _ALIGNMENT),
        Prop("Baseline", "Edm.Double", c.baseline),
    )
    return EntitySet(
        "AlignmentSnapshots",
        "AlignmentSnapshot",
        AlignmentSnapshot.__table__,
        ("Id",),
        props,
        "Each goal's alignment as computed on Date (one row per goal and day).",
        navs=(Nav("Goal", "Goals", "GoalId"),),
    )


def _goal_props(c: Any, alignment: dict[str, Any], as_of: Any) -> tuple[Prop, ...]:
    return (
        Prop("Id", "Edm.Int64", c.id, nullable=False),
        Prop("ObjectiveId", "Edm.Int64", c.objective_id, nullable=False),
        Prop("Title", "Edm.String", c.title, nullable=False),
        Prop("KpiKey", "Edm.String", c.kpi_key, nullable=False),
        Prop("Kind", "Edm.String", c.kind, nullable=False),
        Prop("ScopeDimension", "Edm.String", c.scope_dim, nullable=False),
        Prop("ScopeMember", "Edm.String", c.scope_value, nullable=False),
        # A goal scoped by a pair (client and priority, say): the second of the two.
        Prop("ScopeSecondDimension", "Edm.String", c.scope_second_dim),
        Prop("ScopeSecondMember", "Edm.String", c.scope_second_value),
        Prop("ScopeSourceId", "Edm.Int64", c.scope_source_id),
        Prop("Baseline", "Edm.Double", c.baseline),
        Prop("Target", "Edm.Double", c.target),
        Prop("Low", "Edm.Double", c.low),
        Prop("High", "Edm.Double", c.high),
        Prop("StartDate", "Edm.Date", c.start_date, nullable=False),
        Prop("DueDate", "Edm.Date", c.due_date, nullable=False),
        Prop("EvaluationGrain", "Edm.String", c.evaluation_grain, nullable=False),
        Prop("Weight", "Edm.Double", c.weight, nullable=False),
        Prop("AlignmentDate", "Edm.Date", as_of),
        *(Prop(name, edm, alignment[name]) for name, edm, _ in _ALIGNMENT),
    )


def _facts_of(out: GoalAlignmentOut) -> dict[str, Any]:
    window = out.window
    return {
        "Status": out.status.value,
        "Progress": out.progress,
        "ExpectedProgress": out.expected_progress,
        "Pace": out.pace,
        "CurrentValue": out.current_value,
        "Reason": out.reason,
        "WindowStart": window.start if window else None,
        "WindowEnd": window.end if window else None,
    }


def _as_data(column: Any, by_id: dict[int, Any], edm: str, dialect: str) -> Any:
    """`by_id[column]` in SQL: a CASE over the goal ids (null for a value of None)."""
    type_ = _SQL_TYPES[edm]
    whens = {i: literal(v, type_()) for i, v in by_id.items() if v is not None}
    expr = case(whens, value=column, else_=null()) if whens else null()
    # PostgreSQL needs the type even when every value is null; SQLite would turn a date
    # cast into a number, and reads the text as it is.
    return cast(expr, type_()) if dialect == "postgresql" else type_coerce(expr, type_())


def _goals(reading: Reading) -> EntitySet:
    goals = reading.session.scalars(select(Goal).order_by(Goal.id)).all()
    engine = AlignmentEngine(reading.session, thresholds=get_thresholds(), tz=reading.tz)
    evaluated = engine.evaluate_goals(goals, reading.today, sparkline=0) if goals else {}
    facts = {goal_id: _facts_of(out) for goal_id, out in evaluated.items()}
    c = Goal.__table__.c
    alignment = {
        name: _as_data(c.id, {i: f[name] for i, f in facts.items()}, edm, reading.dialect)
        for name, edm, _ in _ALIGNMENT
    }
    as_of: dict[int, date] = {i: out.as_of for i, out in evaluated.items()}
    props = _goal_props(c, alignment, _as_data(c.id, as_of, "Edm.Date", reading.dialect))
    return EntitySet("Goals", "Goal", Goal.__table__, ("Id",), props, "")


def goal_sets() -> list[EntitySet]:
    placeholder = Goal.__table__.c
    declared_props = tuple(
        declared(p.name, p.edm, p.nullable)
        for p in _goal_props(placeholder, {n: null() for n, _, _ in _ALIGNMENT}, null())
    )
    goals = EntitySet(
        "Goals",
        "Goal",
        None,
        ("Id",),
        declared_props,
        "Goals with their alignment now, as GET /api/v1/goals/{id}/alignment gives it "
        "(AlignmentDate is today): Status, progress against plan, the current value and "
        "the window judged. Each day's alignment is kept in AlignmentSnapshots.",
        navs=(
            Nav("Objective", "Objectives", "ObjectiveId"),
            Nav("Kpi", "Kpis", "KpiKey", "Key"),
            Nav("ScopeSource", "Sources", "ScopeSourceId"),
            Nav("Snapshots", "AlignmentSnapshots", "Id", "GoalId", collection=True),
        ),
        build=_goals,
    )
    return [goals, _objectives(), _snapshots()]
