"""Objectives: create, read, change, archive, restore, delete, each change kept in the plan's
history (`app.goals.history`) with who made it (`by`: a person's name, "API key <name>", or
None when nobody can be named).

Problems with what was sent are `InvalidInput` (422) naming the field; a missing objective is
`NotFound` (404); a refusal because of what the plan holds now is `Conflict` (409).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Conflict, NotFound
from app.goals.archive import hidden_objectives
from app.goals.history import Action, fields_of, record_change
from app.goals.models import Goal, Objective
from app.goals.schemas import ObjectiveIn, ObjectivePatch
from app.goals.service import check_weight, invalid


def get_objective(session: Session, objective_id: int) -> Objective:
    row = session.get(Objective, objective_id)
    if row is None:
        raise NotFound(
            f"There is no objective with id {objective_id}. GET /api/v1/objectives lists them.",
            code="objective_not_found",
        )
    return row


def list_objectives(
    session: Session, parent_id: int | None = None, *, include_archived: bool = False
) -> list[Objective]:
    """Oldest first. Without `include_archived`, archived objectives and those beneath one
    are left out."""
    query = select(Objective).order_by(Objective.id)
    rows = list(session.scalars(query))
    hidden = set() if include_archived else hidden_objectives(rows)
    return [
        r for r in rows if r.id not in hidden and (parent_id is None or r.parent_id == parent_id)
    ]


def _check_parent(session: Session, objective_id: int | None, parent_id: int | None) -> None:
    """The parent exists, is in use, and is neither the objective itself nor one of its
    descendants."""
    if parent_id is None:
        return
    seen: set[int] = set()
    current: int | None = parent_id
    while current is not None and current not in seen:
        if current == objective_id:
            raise invalid(
                "body.parent_id",
                "An objective cannot sit under itself or under one of its own children: "
                "that would make a loop. Choose another parent, or null for a top-level one.",
                "objective_cycle",
            )
        row = session.get(Objective, current)
        if row is None:
            raise invalid(
                "body.parent_id",
                f"There is no objective with id {current} to sit under.",
                "parent_not_found",
            )
        if row.archived_at is not None:
            raise invalid(
                "body.parent_id",
                f"Objective {row.id} ({row.title}) is archived: restore it first, or choose "
                "another parent.",
                "parent_archived",
            )
        seen.add(current)
        current = row.parent_id


def create_objective(session: Session, body: ObjectiveIn, *, by: str | None = None) -> Objective:
    check_weight("body.weight", body.weight)
    _check_parent(session, None, body.parent_id)
    row = Objective(**body.model_dump())
    session.add(row)
    session.flush()
    record_change(session, row, Action.CREATE, before=None, by=by)
    return row


def update_objective(
    session: Session, objective_id: int, patch: ObjectivePatch, *, by: str | None = None
) -> Objective:
    row = get_objective(session, objective_id)
    before = fields_of(row)
    changes = patch.model_dump(exclude_unset=True)
    for name in ("title", "weight"):
        if name in changes and changes[name] is None:
            raise invalid(f"body.{name}", f"{name} cannot be empty.", "field_required")
    if "weight" in changes:
        check_weight("body.weight", changes["weight"])
    if "parent_id" in changes and changes["parent_id"] != row.parent_id:
        _check_parent(session, row.id, changes["parent_id"])
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    record_change(session, row, Action.UPDATE, before=before, by=by)
    return row


def archive_objective(session: Session, objective_id: int, *, by: str | None = None) -> Objective:
    """Archive it: it leaves the scorecard, overview and alerts, with its goals and child
    objectives, and stays readable. Archiving it again changes nothing."""
    row = get_objective(session, objective_id)
    if row.archived_at is None:
        before = fields_of(row)
        row.archived_at = utcnow()
        session.flush()
        record_change(session, row, Action.ARCHIVE, before=before, by=by)
    return row


def restore_objective(session: Session, objective_id: int, *, by: str | None = None) -> Objective:
    """Bring an archived objective back (with the goals and children archived with it).
    Refused (409) while its parent is archived: restore that first."""
    row = get_objective(session, objective_id)
    if row.archived_at is None:
        return row
    if row.parent_id is not None and row.parent_id in hidden_objectives(
        list(session.scalars(select(Objective)))
    ):
        raise Conflict(
            f"Objective {row.id} sits under archived objective {row.parent_id}: restore that "
            "one first, or move this one under another parent.",
            code="parent_archived",
        )
    before = fields_of(row)
    row.archived_at = None
    session.flush()
    record_change(session, row, Action.RESTORE, before=before, by=by)
    return row


def delete_objective(session: Session, objective_id: int, *, by: str | None = None) -> None:
    row = get_objective(session, objective_id)
    children = session.scalar(select(func.count()).where(Objective.parent_id == row.id)) or 0
    goals = session.scalar(select(func.count()).where(Goal.objective_id == row.id)) or 0
    if children or goals:
        raise Conflict(
            f"Objective {row.id} still has {children} child objective(s) and {goals} goal(s). "
            "Delete or move them first, so nothing disappears by surprise. To stop tracking "
            "it but keep it, archive it instead.",
            code="objective_not_empty",
        )
    before = fields_of(row)
    record_change(session, row, Action.DELETE, before=before, by=by)
    session.delete(row)
    session.flush()
