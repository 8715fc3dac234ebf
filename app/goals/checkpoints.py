"""Milestones (dated intermediate targets of a goal) and check-ins (a person's confidence
and note on a goal or objective): create, read, change, delete, validated like the plan."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.goals.history import Action, fields_of, record_change
from app.goals.models import CheckIn, Goal, GoalKind, Milestone, Objective
from app.goals.schemas import CheckInIn, CheckInPatch, MilestoneIn, MilestonePatch
from app.goals.service import check_date, check_kpi_value, get_goal, invalid
from app.kpis.catalogue import Grain
from app.kpis.manual import get_kpi
from app.kpis.periods import last_complete_period, period_containing

# ---- milestones ----------------------------------------------------------------------------


def get_milestone(session: Session, milestone_id: int) -> Milestone:
    row = session.get(Milestone, milestone_id)
    if row is None:
        raise NotFound(f"There is no milestone with id {milestone_id}.", code="milestone_not_found")
    return row


def list_milestones(session: Session, goal_id: int) -> list[Milestone]:
    get_goal(session, goal_id)
    return list(
        session.scalars(
            select(Milestone)
            .where(Milestone.goal_id == goal_id)
            .order_by(Milestone.due_date, Milestone.id)
        )
    )


def _check_milestone(session: Session, goal: Goal, row: Milestone) -> None:
    check_date("body.due_date", row.due_date)
    if not goal.start_date < row.due_date <= goal.due_date:
        raise invalid(
            "body.due_date",
            f"A milestone falls after the goal's start ({goal.start_date}) and on or before "
            f"its due date ({goal.due_date}); got {row.due_date}.",
            "milestone_outside_goal",
        )
    grain = Grain(goal.evaluation_grain)
    judged_on = last_complete_period(row.due_date, grain)
    if judged_on.end <= goal.start_date:
        first = period_containing(goal.start_date, grain)
        raise invalid(
            "body.due_date",
            f"A milestone is judged on the last whole {grain.value} on or before its date; "
            f"on {row.due_date} that is {judged_on.start} to {judged_on.last_day}, before the "
            f"goal starts. Date it on {first.last_day} or later.",
            "milestone_before_first_period",
        )
    kind = GoalKind(goal.kind)
    if kind.moves and row.target is None:
        raise invalid(
            "body.target",
            f"A milestone of an {kind.value} goal needs a `target`: the value to reach by then.",
            "target_required",
        )
    if kind is GoalKind.BAND and row.target is not None:
        raise invalid(
            "body.target",
            "A band goal's milestone is the band held on that date; leave `target` out.",
            "target_not_allowed",
        )
    if row.target is not None:
        kpi = get_kpi(session, goal.kpi_key)
        what = "milestone target" if kind.moves else "milestone threshold"
        check_kpi_value(kpi, "body.target", what, row.target)


def create_milestone(
    session: Session, goal_id: int, body: MilestoneIn, *, by: str | None = None
) -> Milestone:
    goal = get_goal(session, goal_id)
    row = Milestone(goal_id=goal.id, **body.model_dump())
    _check_milestone(session, goal, row)
    session.add(row)
    session.flush()
    record_change(session, row, Action.CREATE, before=None, by=by)
    return row


def update_milestone(
    session: Session, milestone_id: int, patch: MilestonePatch, *, by: str | None = None
) -> Milestone:
    row = get_milestone(session, milestone_id)
    before = fields_of(row)
    changes = patch.model_dump(exclude_unset=True)
    if "due_date" in changes and changes["due_date"] is None:
        raise invalid("body.due_date", "due_date cannot be empty.", "field_required")
    for name, value in changes.items():
        setattr(row, name, value)
    # Checked before anything is written (see update_goal).
    with session.no_autoflush:
        _check_milestone(session, get_goal(session, row.goal_id), row)
    session.flush()
    record_change(session, row, Action.UPDATE, before=before, by=by)
    return row


def delete_milestone(session: Session, milestone_id: int, *, by: str | None = None) -> None:
    row = get_milestone(session, milestone_id)
    record_change(session, row, Action.DELETE, before=fields_of(row), by=by)
    session.delete(row)
    session.flush()


# ---- check-ins -----------------------------------------------------------------------------


def get_check_in(session: Session, check_in_id: int) -> CheckIn:
    row = session.get(CheckIn, check_in_id)
    if row is None:
        raise NotFound(f"There is no check-in with id {check_in_id}.", code="check_in_not_found")
    return row


def list_check_ins(
    session: Session,
    *,
    goal_id: int | None = None,
    objective_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[CheckIn]:
    """Oldest first; `end` is exclusive."""
    query = select(CheckIn).order_by(CheckIn.check_in_date, CheckIn.id)
    if goal_id is not None:
        query = query.where(CheckIn.goal_id == goal_id)
    if objective_id is not None:
        query = query.where(CheckIn.objective_id == objective_id)
    if start is not None:
        query = query.where(CheckIn.check_in_date >= start)
    if end is not None:
        query = query.where(CheckIn.check_in_date < end)
    return list(session.scalars(query))


def create_check_in(
    session: Session, body: CheckInIn, today: date, *, by: str | None = None
) -> CheckIn:
    """The check-in's author is the one sent, else `by` (who is recording it)."""
    if (body.goal_id is None) == (body.objective_id is None):
        raise invalid(
            "body.goal_id",
            "A check-in is on one goal or one objective: send exactly one of `goal_id` and "
            "`objective_id`.",
            "check_in_needs_one_subject",
        )
    if body.date is not None:
        check_date("body.date", body.date)
    if body.goal_id is not None and session.get(Goal, body.goal_id) is None:
        raise invalid("body.goal_id", f"There is no goal with id {body.goal_id}.", "goal_not_found")
    if body.objective_id is not None and session.get(Objective, body.objective_id) is None:
        raise invalid(
            "body.objective_id",
            f"There is no objective with id {body.objective_id}.",
            "objective_not_found",
        )
    row = CheckIn(
        goal_id=body.goal_id,
        objective_id=body.objective_id,
        check_in_date=body.date or today,
        confidence=body.confidence,
        note=body.note,
        author=body.author or by,
    )
    session.add(row)
    session.flush()
    return row


def update_check_in(session: Session, check_in_id: int, patch: CheckInPatch) -> CheckIn:
    row = get_check_in(session, check_in_id)
    changes = patch.model_dump(exclude_unset=True)
    for name in ("date", "confidence"):
        if name in changes and changes[name] is None:
            raise invalid(f"body.{name}", f"{name} cannot be empty.", "field_required")
    if "date" in changes:
        check_date("body.date", changes["date"])
        row.check_in_date = changes.pop("date")
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    return row


def delete_check_in(session: Session, check_in_id: int) -> None:
    session.delete(get_check_in(session, check_in_id))
    session.flush()
