"""The scorecard: every objective, nested, rolled up from its goals' alignment
(docs/goals.md §2.6 and §3)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from app.goals.alignment import RollupChild, Status, roll_up
from app.goals.archive import live_plan
from app.goals.evaluate import SPARKLINE_PERIODS, AlignmentEngine
from app.goals.models import CheckIn, Goal, Objective
from app.goals.schemas import CheckInOut
from app.goals.shaping import round_value
from app.goals.views import GoalAlignmentOut, ObjectiveAlignmentOut, SourceHistoryOut


def scorecard(
    engine: AlignmentEngine,
    as_of: date,
    *,
    sparkline: int = SPARKLINE_PERIODS,
    include_archived: bool = False,
) -> list[ObjectiveAlignmentOut]:
    """Every objective in use (top-level first, children nested) with its goals' alignment;
    archived ones and what sits beneath them only with `include_archived`."""
    session = engine.session
    if include_archived:
        objectives = list(session.scalars(select(Objective).order_by(Objective.id)))
        goals = list(session.scalars(select(Goal).order_by(Goal.id)))
    else:
        objectives, goals = live_plan(session)
    evaluated = engine.evaluate_goals(goals, as_of, sparkline=sparkline)
    _, objective_check_ins = engine.latest_check_ins(as_of)
    return build_tree(objectives, goals, evaluated, objective_check_ins)


def build_tree(
    objectives: Sequence[Objective],
    goals: Sequence[Goal],
    evaluated: dict[int, GoalAlignmentOut],
    check_ins: dict[int, CheckIn],
) -> list[ObjectiveAlignmentOut]:
    """Objectives nested under their parents, each rolled up from its children (any depth)."""
    children: dict[int | None, list[Objective]] = defaultdict(list)
    for objective in objectives:
        children[objective.parent_id].append(objective)
    goals_of: dict[int, list[GoalAlignmentOut]] = defaultdict(list)
    for goal in goals:
        goals_of[goal.objective_id].append(evaluated[goal.id])

    def build(objective: Objective, seen: frozenset[int]) -> ObjectiveAlignmentOut:
        nested = [
            build(child, seen | {child.id})
            for child in children.get(objective.id, [])
            if child.id not in seen  # the API refuses cycles; this keeps a bad row harmless
        ]
        own = goals_of.get(objective.id, [])
        rollup = roll_up(
            [RollupChild(g.weight, g.progress, g.status) for g in own]
            + [RollupChild(o.weight, o.progress, o.status) for o in nested]
        )
        check_in = check_ins.get(objective.id)
        return ObjectiveAlignmentOut(
            id=objective.id,
            parent_id=objective.parent_id,
            title=objective.title,
            purpose=objective.purpose,
            owner=objective.owner,
            horizon=objective.horizon,
            weight=objective.weight,
            progress=round_value(rollup.progress),
            status=rollup.status,
            status_words=Status(rollup.status).words,
            no_data=rollup.no_data,
            latest_check_in=CheckInOut.of(check_in) if check_in else None,
            goals=own,
            objectives=nested,
        )

    return [build(root, frozenset({root.id})) for root in children.get(None, [])]


def source_histories(engine: AlignmentEngine) -> list[SourceHistoryOut]:
    """Each source's coverage, as the engine judged the periods by."""
    return [
        SourceHistoryOut(
            source_id=s.source_id,
            name=s.name,
            history_from=s.history_from,
            synced_until=s.synced_until,
        )
        for s in engine.coverage.sources.values()
    ]
