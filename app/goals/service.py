"""Goals: create, read, change, archive, restore, delete, with validation that says what to
fix, each change kept in the plan's history with who made it (`by`). Objectives are in
`app.goals.objectives`, milestones and check-ins in `app.goals.checkpoints`.

Problems with what was sent are `InvalidInput` (422) whose `details` name the field, the way
FastAPI's own validation errors do; a missing object addressed by the URL is `NotFound` (404).
"""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Conflict, InvalidInput, NorthstarError, NotFound
from app.goals.archive import goal_hidden, hidden_objectives
from app.goals.evaluate import baseline_period, compute_baseline
from app.goals.history import Action, fields_of, record_change
from app.goals.models import Goal, GoalKind, Objective
from app.goals.schemas import GoalIn, GoalPatch, GoalScope
from app.inputs import date_problem, value_problem, weight_problem
from app.kpis.catalogue import Grain, KpiDefinition
from app.kpis.domain import Domain, kpi_domain
from app.kpis.manual import get_kpi
from app.kpis.periods import period_containing
from app.kpis.scope import ScopeFilter, resolve_scope


def invalid(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, details=[{"field": field, "problem": message}])


# ---- limits (the numbers themselves are in app.inputs) --------------------------------


def _values_words(domain: Domain) -> str:
    if domain.low is not None and domain.high is not None:
        return f"its values lie between {domain.low:g} and {domain.high:g}"
    if domain.low is not None:
        return f"its values are {domain.low:g} or more"
    if domain.high is not None:
        return f"its values are {domain.high:g} or less"
    return "it takes any number"


def check_kpi_value(kpi: KpiDefinition, field: str, what: str, value: float) -> None:
    """`value`, typed as the goal's `what` ("target", "band low"...), is a number Northstar
    takes and one `kpi` can take. A value at the edge is fine: an increase to 100 %."""
    problem = value_problem(value)
    if problem:
        raise invalid(field, f"The {what}: {problem}", "number_out_of_range")
    domain = kpi_domain(kpi)
    if not domain.contains(value):
        raise invalid(
            field,
            f"A {what} of {value:g} is impossible for {kpi.name}: {_values_words(domain)}.",
            "outside_kpi_range",
        )


def check_date(field: str, day: date) -> None:
    problem = date_problem(day)
    if problem:
        raise invalid(field, f"`{field.removeprefix('body.')}`: {problem}", "date_out_of_range")


def check_weight(field: str, weight: float) -> None:
    problem = weight_problem(weight)
    if problem:
        raise invalid(field, problem, "number_out_of_range")


# ---- goals ---------------------------------------------------------------------------------


def get_goal(session: Session, goal_id: int) -> Goal:
    row = session.get(Goal, goal_id)
    if row is None:
        raise NotFound(
            f"There is no goal with id {goal_id}. GET /api/v1/goals lists them.",
            code="goal_not_found",
        )
    return row


def list_goals(
    session: Session, objective_id: int | None = None, *, include_archived: bool = False
) -> list[Goal]:
    """Oldest first. Without `include_archived`, archived goals and those of archived
    objectives are left out."""
    query = select(Goal).order_by(Goal.id)
    if objective_id is not None:
        query = query.where(Goal.objective_id == objective_id)
    rows = list(session.scalars(query))
    if include_archived:
        return rows
    hidden = hidden_objectives(list(session.scalars(select(Objective))))
    return [g for g in rows if not goal_hidden(g, hidden)]


SCOPE_COLUMNS = {
    "source": "scope_source",
    "client": "scope_client",
    "technician": "scope_technician",
    "board": "scope_board",
    "priority": "scope_priority",
}


def _set_scope(row: Goal, scope: GoalScope) -> None:
    for name, column in SCOPE_COLUMNS.items():
        setattr(row, column, getattr(scope, name))


def _goal_kpi(
    session: Session, row: Goal, *, check_archived: bool = True
) -> tuple[KpiDefinition, ScopeFilter]:
    """The goal's objective is in use, and its KPI, grain and scope are ones the KPI
    supports."""
    objective = session.get(Objective, row.objective_id)
    if objective is None:
        raise invalid(
            "body.objective_id",
            f"There is no objective with id {row.objective_id}; create it first.",
            "objective_not_found",
        )
    if check_archived and objective.archived_at is not None:
        raise invalid(
            "body.objective_id",
            f"Objective {objective.id} ({objective.title}) is archived: restore it first, or "
            "choose another objective.",
            "objective_archived",
        )
    try:
        kpi = get_kpi(session, row.kpi_key)
    except NotFound as exc:
        raise invalid("body.kpi", exc.message, "kpi_not_found") from exc
    if Grain(row.evaluation_grain) not in kpi.grains:
        allowed = ", ".join(g.value for g in kpi.grains)
        raise invalid(
            "body.evaluation_grain",
            f"{kpi.name} ({kpi.key}) is not defined by {row.evaluation_grain}. "
            f"Use one of: {allowed}.",
            "grain_not_supported",
        )
    try:
        scope = resolve_scope(
            session,
            kpi,
            source=row.scope_source,
            client=row.scope_client,
            technician=row.scope_technician,
            board=row.scope_board,
            priority=row.scope_priority,
        )
    except NorthstarError as exc:
        raise invalid("body.scope", exc.message, exc.code) from exc
    row.resolved_to(scope)
    return kpi, scope


def _check_terms(row: Goal, kpi: KpiDefinition) -> None:
    """Dates in order and in Northstar's window, and the numbers this kind of goal needs
    (docs/goals.md §1), each one `kpi` can take."""
    for name in ("start_date", "due_date", "baseline_start", "baseline_end"):
        day = getattr(row, name)
        if day is not None:
            check_date(f"body.{name}", day)
    if row.due_date <= row.start_date:
        raise invalid(
            "body.due_date",
            f"The due date ({row.due_date}) must be after the start date ({row.start_date}).",
            "due_before_start",
        )
    grain = Grain(row.evaluation_grain)
    first = period_containing(row.start_date, grain)
    if first.last_day > row.due_date:
        # No whole period would end by the due date: the goal could never be judged.
        raise invalid(
            "body.due_date",
            f"A goal judged by {grain.value} needs at least one whole {grain.value} to be "
            f"judged on: the {grain.value} of its start ends on {first.last_day}, after the due "
            f"date {row.due_date}. Move the due date to {first.last_day} or later, or judge it "
            "by a shorter period (evaluation_grain).",
            "goal_shorter_than_its_period",
        )
    kind = GoalKind(row.kind)
    if kind is GoalKind.BAND:
        if row.low is None or row.high is None:
            raise invalid(
                "body.low" if row.low is None else "body.high",
                "A band goal needs both `low` and `high` (e.g. utilisation 70 to 80).",
                "band_bounds_required",
            )
        if row.low >= row.high:
            raise invalid(
                "body.high",
                f"A band needs low < high; got low {row.low:g} and high {row.high:g}.",
                "band_invalid",
            )
        if row.target is not None:
            raise invalid(
                "body.target",
                "A band goal has `low` and `high`, not a `target`; leave `target` out.",
                "target_not_allowed",
            )
    else:
        what = "the threshold to hold" if not kind.moves else "the value to reach"
        if row.target is None:
            raise invalid(
                "body.target", f"A {kind.value} goal needs a `target` ({what}).", "target_required"
            )
        if row.low is not None or row.high is not None:
            raise invalid(
                "body.low" if row.low is not None else "body.high",
                f"`low` and `high` are for band goals; a {kind.value} goal has a `target`.",
                "bounds_not_allowed",
            )
    check_weight("body.weight", row.weight)
    typed = [
        ("target", "target" if kind.moves else "threshold", row.target),
        ("low", "band low", row.low),
        ("high", "band high", row.high),
        ("baseline", "baseline", None if row.baseline_computed else row.baseline),
    ]
    for name, what, value in typed:
        if value is not None:
            check_kpi_value(kpi, f"body.{name}", what, value)
    if kind.moves and row.baseline is not None and not row.baseline_computed:
        assert row.target is not None
        wrong = (
            row.target <= row.baseline
            if kind is GoalKind.INCREASE
            else (row.target >= row.baseline)
        )
        if wrong:
            side = "above" if kind is GoalKind.INCREASE else "below"
            raise invalid(
                "body.target",
                f"An {kind.value} goal needs a target {side} its baseline ({row.baseline:g}); "
                f"got {row.target:g}. Swap the kind, or check the numbers.",
                "target_wrong_side",
            )
    if (row.baseline_start is None) != (row.baseline_end is None):
        raise invalid(
            "body.baseline_end" if row.baseline_end is None else "body.baseline_start",
            "A baseline period needs both `baseline_start` and `baseline_end`.",
            "baseline_period_incomplete",
        )
    if row.baseline_start and row.baseline_end and row.baseline_end <= row.baseline_start:
        raise invalid(
            "body.baseline_end",
            "`baseline_end` (the day after the period's last day) must be after `baseline_start`.",
            "invalid_baseline_period",
        )


def _fill_baseline(
    session: Session, row: Goal, kpi: KpiDefinition, scope: ScopeFilter, today: date, tz: tzinfo
) -> None:
    """Compute a missing baseline now, if its period is complete and covered by the PSAs'
    history; it stays empty (and the daily snapshot retries) until then."""
    if row.baseline is None and GoalKind(row.kind).moves and baseline_period(row).end <= today:
        value, _ = compute_baseline(session, row, kpi, scope, tz=tz, as_of=today)
        row.baseline, row.baseline_computed = value, value is not None


def create_goal(
    session: Session, body: GoalIn, today: date, tz: tzinfo, *, by: str | None = None
) -> Goal:
    values = body.model_dump(exclude={"scope", "kpi"})
    row = Goal(**values, kpi_key=body.kpi, baseline_computed=False)
    _set_scope(row, body.scope)
    kpi, scope = _goal_kpi(session, row)
    _check_terms(row, kpi)
    _fill_baseline(session, row, kpi, scope, today, tz)
    session.add(row)
    session.flush()
    record_change(session, row, Action.CREATE, before=None, by=by)
    return row


RECOMPUTE_ON = {"kpi", "scope", "baseline_start", "baseline_end", "evaluation_grain", "start_date"}


def update_goal(
    session: Session,
    goal_id: int,
    patch: GoalPatch,
    today: date,
    tz: tzinfo,
    *,
    by: str | None = None,
) -> Goal:
    row = get_goal(session, goal_id)
    before = fields_of(row)
    moved = patch.objective_id is not None and patch.objective_id != row.objective_id
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    for name in (
        "objective_id",
        "title",
        "kpi",
        "kind",
        "start_date",
        "due_date",
        "weight",
        "judge_partial",
    ):
        if name in changes and changes[name] is None:
            raise invalid(f"body.{name}", f"{name} cannot be empty.", "field_required")
    if "scope" in changes:
        _set_scope(row, patch.scope or GoalScope())
    if "kpi" in changes:
        row.kpi_key = changes["kpi"]
    for name, value in changes.items():
        if name not in ("scope", "kpi"):
            setattr(row, name, value)
    if "evaluation_grain" in changes and changes["evaluation_grain"] is None:
        row.evaluation_grain = Grain.MONTH.value
    if "baseline" in changes:
        row.baseline_computed = False
    elif row.baseline_computed and RECOMPUTE_ON & changes.keys():
        row.baseline, row.baseline_computed = None, False
    # Checked before anything is written: an autoflush would send an objective_id that
    # names no objective to the database before the check could refuse it.
    with session.no_autoflush:
        # A goal already under an archived objective can still be corrected; moving one
        # there is refused.
        kpi, scope = _goal_kpi(session, row, check_archived=moved)
        _check_terms(row, kpi)
        _fill_baseline(session, row, kpi, scope, today, tz)
    session.flush()
    record_change(session, row, Action.UPDATE, before=before, by=by)
    return row


def archive_goal(session: Session, goal_id: int, *, by: str | None = None) -> Goal:
    """Archive it: it leaves the scorecard, overview, snapshots and alerts and stays
    readable, its history and check-ins kept. Archiving it again changes nothing."""
    row = get_goal(session, goal_id)
    if row.archived_at is None:
        before = fields_of(row)
        row.archived_at = utcnow()
        session.flush()
        record_change(session, row, Action.ARCHIVE, before=before, by=by)
    return row


def restore_goal(session: Session, goal_id: int, *, by: str | None = None) -> Goal:
    """Bring an archived goal back. Refused (409) while its objective is archived."""
    row = get_goal(session, goal_id)
    if row.archived_at is None:
        return row
    if row.objective_id in hidden_objectives(list(session.scalars(select(Objective)))):
        raise Conflict(
            f"Goal {row.id} belongs to archived objective {row.objective_id}: restore the "
            "objective first, or move the goal to another one.",
            code="objective_archived",
        )
    before = fields_of(row)
    row.archived_at = None
    session.flush()
    record_change(session, row, Action.RESTORE, before=before, by=by)
    return row


def delete_goal(session: Session, goal_id: int, *, by: str | None = None) -> None:
    """Its milestones, check-ins and snapshots go with it; its history is kept."""
    row = get_goal(session, goal_id)
    record_change(session, row, Action.DELETE, before=fields_of(row), by=by)
    session.delete(row)
    session.flush()
