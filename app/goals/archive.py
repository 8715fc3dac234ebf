"""Which objectives and goals are archived, directly or because an objective above them is:
those are left out of the scorecard, the overview, lists and the daily snapshots (so of the
alerts that read them) unless asked for, and stay readable one by one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.goals.models import Goal, Objective


def _archived(archived_at: datetime | None, before: datetime | None) -> bool:
    return archived_at is not None and (before is None or archived_at < before)


def hidden_objectives(
    objectives: Sequence[Objective], *, before: datetime | None = None
) -> set[int]:
    """Ids of the objectives archived, or beneath an archived one (at any depth). With
    `before`, only archiving done before that moment counts (a review of a quarter keeps
    what was archived during it)."""
    parent = {o.id: o.parent_id for o in objectives}
    archived = {o.id for o in objectives if _archived(o.archived_at, before)}
    hidden: set[int] = set()
    for objective in objectives:
        seen: set[int] = set()
        current: int | None = objective.id
        while current is not None and current not in seen:
            if current in archived:
                hidden.add(objective.id)
                break
            seen.add(current)
            current = parent.get(current)
    return hidden


def goal_hidden(goal: Goal, hidden: set[int], *, before: datetime | None = None) -> bool:
    """The goal is archived itself or sits under a hidden objective."""
    return _archived(goal.archived_at, before) or goal.objective_id in hidden


def live_plan(session: Session) -> tuple[list[Objective], list[Goal]]:
    """The objectives and goals in use (none archived, none under an archived objective),
    oldest first: what the scorecard, snapshots and alerts look at."""
    objectives = list(session.scalars(select(Objective).order_by(Objective.id)))
    hidden = hidden_objectives(objectives)
    goals = [
        g for g in session.scalars(select(Goal).order_by(Goal.id)) if not goal_hidden(g, hidden)
    ]
    return [o for o in objectives if o.id not in hidden], goals


def live_goal_ids(session: Session) -> set[int]:
    """Ids of the goals in use (for callers that filter a query of their own)."""
    return {g.id for g in live_plan(session)[1]}
