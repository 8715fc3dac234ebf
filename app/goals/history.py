"""The history of the plan: every change to an objective, goal or milestone, with who made
it, when, and the fields a person sees before and after.

Written by the service functions in the same transaction as the change itself, so a change
made through the API or a form is never kept without its history, nor the other way round.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import NotFound
from app.goals.models import Goal, Milestone, Objective, PlanChange
from app.goals.words import plain
from app.kpis.manual import get_kpi


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    ARCHIVE = "archive"
    RESTORE = "restore"
    DELETE = "delete"


Plan = Objective | Goal | Milestone


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def fields_of(row: Plan) -> dict[str, Any]:
    """What a person sees of `row`, as JSON-ready values (dates as ISO strings)."""
    if isinstance(row, Objective):
        names = ["title", "purpose", "owner", "horizon", "parent_id", "weight", "win_feels_like"]
        names.append("archived_at")
        values = {name: getattr(row, name) for name in names}
    elif isinstance(row, Goal):
        values = {
            "objective_id": row.objective_id,
            "title": row.title,
            "kpi": row.kpi_key,
            "source": row.scope_source,
            "client": row.scope_client,
            "technician": row.scope_technician,
            "board": row.scope_board,
            "priority": row.scope_priority,
            "kind": row.kind,
            "baseline": row.baseline,
            "baseline_start": row.baseline_start,
            "baseline_end": row.baseline_end,
            "target": row.target,
            "low": row.low,
            "high": row.high,
            "start_date": row.start_date,
            "due_date": row.due_date,
            "evaluation_grain": row.evaluation_grain,
            "judge_partial": row.judge_partial,
            "weight": row.weight,
            "archived_at": row.archived_at,
        }
    else:
        values = {
            "goal_id": row.goal_id,
            "title": row.title,
            "due_date": row.due_date,
            "target": row.target,
        }
    return {name: _json(value) for name, value in values.items()}


def record_change(
    session: Session,
    row: Plan,
    action: Action,
    *,
    before: dict[str, Any] | None,
    by: str | None,
) -> PlanChange | None:
    """Add the history row of `action` on `row` (already flushed, so it has its id).
    `before` is `fields_of(row)` taken before the change (None for a creation). An update
    that changed nothing a person sees writes nothing and returns None."""
    after = None if action is Action.DELETE else fields_of(row)
    if action is Action.UPDATE and before == after:
        return None
    goal_id: int | None
    objective_id: int | None
    if isinstance(row, Objective):
        entity, goal_id, objective_id = "objective", None, row.id
    elif isinstance(row, Goal):
        entity, goal_id, objective_id = "goal", row.id, row.objective_id
    else:
        goal = session.get(Goal, row.goal_id)
        entity, goal_id = "milestone", row.goal_id
        objective_id = goal.objective_id if goal is not None else None
    change = PlanChange(
        entity=entity,
        entity_id=row.id,
        goal_id=goal_id,
        objective_id=objective_id,
        action=action.value,
        changed_by=by,
        changed_at=utcnow(),
        before=before,
        after=after,
    )
    session.add(change)
    session.flush()
    return change


def goal_history(session: Session, goal_id: int) -> list[PlanChange]:
    """The goal's changes and its milestones', newest first."""
    return list(
        session.scalars(
            select(PlanChange)
            .where(PlanChange.goal_id == goal_id)
            .order_by(PlanChange.changed_at.desc(), PlanChange.id.desc())
        )
    )


def objective_history(session: Session, objective_id: int) -> list[PlanChange]:
    """The objective's own changes and those of the goals (and their milestones) that
    belonged to it when they were made, newest first."""
    return list(
        session.scalars(
            select(PlanChange)
            .where(
                or_(
                    and_(PlanChange.entity == "objective", PlanChange.entity_id == objective_id),
                    and_(PlanChange.entity != "objective", PlanChange.objective_id == objective_id),
                )
            )
            .order_by(PlanChange.changed_at.desc(), PlanChange.id.desc())
        )
    )


def changes_between(session: Session, start: datetime, end: datetime) -> list[PlanChange]:
    """Every change made from `start` to before `end`, oldest first."""
    return list(
        session.scalars(
            select(PlanChange)
            .where(PlanChange.changed_at >= start, PlanChange.changed_at < end)
            .order_by(PlanChange.changed_at, PlanChange.id)
        )
    )


# ---- in words ------------------------------------------------------------------------------

LABELS = {
    "objective_id": "objective",
    "parent_id": "parent objective",
    "kpi": "KPI",
    "baseline_start": "baseline from",
    "baseline_end": "baseline until",
    "start_date": "start",
    "due_date": "due date",
    "evaluation_grain": "judged by",
    "judge_partial": "judged on the period so far",
    "low": "band low",
    "high": "band high",
    "win_feels_like": "what a win will feel like",
}
# Bookkeeping a person does not need spelled out: archiving has its own words.
QUIET = {"archived_at"}
NUMBERS = {"baseline", "target", "low", "high"}
LONG_TEXT = {"purpose", "win_feels_like"}


def _value_words(name: str, value: Any, unit: str) -> str:
    if value is None or value == "":
        return "none"
    if name in NUMBERS and isinstance(value, int | float):
        return plain(value) + {"percent": " %", "hours": " h"}.get(unit, "")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in LONG_TEXT:
        text = str(value)
        return f"“{text[:60]}…”" if len(text) > 60 else f"“{text}”"
    return str(value)


def changed_fields(change: PlanChange) -> list[str]:
    """The names of the fields an update changed, in the order they are shown."""
    before, after = change.before or {}, change.after or {}
    return [n for n in after if n not in QUIET and before.get(n) != after.get(n)]


def _subject(change: PlanChange, name_goal: bool) -> str:
    fields = change.after or change.before or {}
    if change.entity == "milestone":
        return f"milestone “{fields.get('title') or 'due ' + str(fields.get('due_date'))}”"
    if change.entity == "goal" and name_goal:
        return f"goal “{fields.get('title')}”"
    return f"the {change.entity}"


def change_words(change: PlanChange, unit: str = "", *, name_goal: bool = False) -> str:
    """What the change did, in words: "target 95 % → 97 %", "archived the goal". `unit` is
    the goal's KPI unit, for goal and milestone values; `name_goal` names the goal (where
    the changes of several goals are listed together)."""
    subject = _subject(change, name_goal)
    action = Action(change.action)
    if action is not Action.UPDATE:
        verb = {
            Action.CREATE: "wrote down",
            Action.DELETE: "deleted",
            Action.ARCHIVE: "archived",
            Action.RESTORE: "restored",
        }[action]
        return f"{verb} {subject}"
    before, after = change.before or {}, change.after or {}
    parts = [
        f"{LABELS.get(n, n)} {_value_words(n, before.get(n), unit)} → "
        f"{_value_words(n, after.get(n), unit)}"
        for n in changed_fields(change)
    ]
    named = change.entity == "milestone" or (change.entity == "goal" and name_goal)
    return (f"{subject}: " if named else "") + ("; ".join(parts) or "no visible change")


def when_words(moment: datetime, tz: tzinfo) -> str:
    """12 Mar 2026, in the reporting time zone."""
    local = moment.astimezone(tz)
    return f"{local.day} {local:%b %Y}"


def line_words(change: PlanChange, tz: tzinfo, unit: str = "", *, name_goal: bool = False) -> str:
    """One line of history: "12 Mar 2026, Dana: target 95 % → 97 %"."""
    who = change.changed_by or "someone unrecorded"
    words = change_words(change, unit, name_goal=name_goal)
    return f"{when_words(change.changed_at, tz)}, {who}: {words}"


def kpi_unit(session: Session, change: PlanChange) -> str:
    """The unit of the KPI of the goal a change is about ("" when unknown)."""
    key = (change.after or change.before or {}).get("kpi")
    if key is None and change.goal_id is not None:
        goal = session.get(Goal, change.goal_id)
        key = goal.kpi_key if goal is not None else None
    if key is None:
        return ""
    try:
        return get_kpi(session, str(key)).unit
    except NotFound:
        return ""


def goal_history_lines(session: Session, goal_id: int, tz: tzinfo) -> list[str]:
    """The goal's history (its milestones' too) as lines to read, newest first."""
    rows = goal_history(session, goal_id)
    unit = kpi_unit(session, rows[0]) if rows else ""
    return [line_words(row, tz, unit) for row in rows]
