"""`/api/v1/objectives`, `/goals`, `/milestones`: writing the plan down (check-ins are in
`app.goals.check_in_router`).

Read keys read; changes need an admin key, and are recorded in the plan's history with the
key's name (archiving, history and stories are in `app.goals.plan_router`). Lists also come
as CSV (`Accept: text/csv` or `?format=csv`) and leave archived objectives and goals out
unless `include_archived=true`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api.context import ServiceContext
from app.api.deps import AdminKey, ContextDep, ReadKey, SessionDep
from app.api.params import IdPath, id_query
from app.api.tabular import CSV_RESPONSES, CsvFormat, csv_response, wants_csv
from app.goals import checkpoints, objectives, service
from app.goals.plan_router import key_actor
from app.goals.schemas import (
    GoalIn,
    GoalOut,
    GoalPatch,
    MilestoneIn,
    MilestoneOut,
    MilestonePatch,
    ObjectiveIn,
    ObjectiveOut,
    ObjectivePatch,
)

router = APIRouter()


def _today(context: ServiceContext) -> date:
    return datetime.now(context.settings.tz).date()


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (see `code`)."}}
IncludeArchived = Annotated[
    bool, Query(description="true: list archived ones too (see `archived_at`).")
]


# ---- objectives ----------------------------------------------------------------------------

OBJECTIVE_COLUMNS = list(ObjectiveOut.model_fields)


@router.get(
    "/objectives",
    response_model=list[ObjectiveOut],
    tags=["objectives"],
    summary="List objectives",
    responses=CSV_RESPONSES,
)
def list_objectives(
    request: Request,
    session: SessionDep,
    _key: ReadKey,
    parent_id: Annotated[int | None, id_query("Only the children of this one.")] = None,
    include_archived: IncludeArchived = False,
    format: CsvFormat = None,
) -> Any:
    """Every objective in use, oldest first (archived ones, and those beneath one, with
    `include_archived=true`). GET /api/v1/alignment shows them as a tree with their
    progress and status."""
    found = objectives.list_objectives(session, parent_id, include_archived=include_archived)
    rows = [ObjectiveOut.of(o) for o in found]
    if wants_csv(request, format):
        return csv_response((r.model_dump() for r in rows), OBJECTIVE_COLUMNS, "objectives.csv")
    return rows


@router.post(
    "/objectives",
    response_model=ObjectiveOut,
    status_code=201,
    tags=["objectives"],
    summary="Write down an objective",
)
def create_objective(body: ObjectiveIn, session: SessionDep, key: AdminKey) -> Any:
    """A strategic intent in words, with its purpose (who it serves, why it matters), an
    owner and what a win will feel like. Nest it under a longer-horizon objective with
    `parent_id`. Its progress comes from the goals you attach to it and its child
    objectives."""
    return ObjectiveOut.of(objectives.create_objective(session, body, by=key_actor(key)))


@router.get(
    "/objectives/{objective_id}",
    response_model=ObjectiveOut,
    tags=["objectives"],
    summary="One objective",
    responses=NOT_FOUND,
)
def get_objective(objective_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    """Archived ones too (`archived_at` says when)."""
    return ObjectiveOut.of(objectives.get_objective(session, objective_id))


@router.patch(
    "/objectives/{objective_id}",
    response_model=ObjectiveOut,
    tags=["objectives"],
    summary="Change an objective",
    responses=NOT_FOUND,
)
def update_objective(
    objective_id: IdPath, body: ObjectivePatch, session: SessionDep, key: AdminKey
) -> Any:
    """Only the fields sent change. Moving it under another objective is refused when that
    would make a loop, or when that objective is archived."""
    return ObjectiveOut.of(
        objectives.update_objective(session, objective_id, body, by=key_actor(key))
    )


@router.delete(
    "/objectives/{objective_id}",
    status_code=204,
    tags=["objectives"],
    summary="Delete an empty objective",
    responses=NOT_FOUND,
)
def delete_objective(objective_id: IdPath, session: SessionDep, key: AdminKey) -> Response:
    """Refused (409) while it still has goals or child objectives: archive it to stop
    tracking it and keep everything. Its history is kept."""
    objectives.delete_objective(session, objective_id, by=key_actor(key))
    return Response(status_code=204)


# ---- goals ---------------------------------------------------------------------------------

GOAL_COLUMNS = [
    "id",
    "objective_id",
    "title",
    "kpi",
    "source",
    "client",
    "technician",
    "board",
    "priority",
    "kind",
    "baseline",
    "baseline_start",
    "baseline_end",
    "baseline_computed",
    "target",
    "low",
    "high",
    "start_date",
    "due_date",
    "evaluation_grain",
    "weight",
    "archived_at",
    "created_at",
    "updated_at",
]


def _goal_row(goal: GoalOut) -> dict[str, Any]:
    data = goal.model_dump()
    return {**data, **data.pop("scope")}


@router.get(
    "/goals",
    response_model=list[GoalOut],
    tags=["goals"],
    summary="List goals",
    responses=CSV_RESPONSES,
)
def list_goals(
    request: Request,
    session: SessionDep,
    _key: ReadKey,
    objective_id: Annotated[int | None, id_query("Only this objective's goals.")] = None,
    include_archived: IncludeArchived = False,
    format: CsvFormat = None,
) -> Any:
    """Goals in use, oldest first (archived ones too with `include_archived=true`)."""
    found = service.list_goals(session, objective_id, include_archived=include_archived)
    rows = [GoalOut.of(g) for g in found]
    if wants_csv(request, format):
        return csv_response((_goal_row(r) for r in rows), GOAL_COLUMNS, "goals.csv")
    return rows


@router.post(
    "/goals", response_model=GoalOut, status_code=201, tags=["goals"], summary="Set a goal"
)
def create_goal(body: GoalIn, session: SessionDep, context: ContextDep, key: AdminKey) -> Any:
    """A key result: a KPI (any key of GET /api/v1/kpis, manual ones included), an optional
    scope, a kind and a target.

    - `increase` / `decrease`: from a `baseline` to a `target`. Leave the baseline out and
      Northstar computes it over `baseline_start`–`baseline_end` (default: the evaluation
      period before the start), then keeps it fixed.
    - `stay_above` / `stay_below`: hold the KPI beyond a threshold (`target`).
    - `band`: stay within `low`–`high` (utilisation 70–80 %).

    The current value is measured over the last complete `evaluation_grain` (month by
    default). Every refusal names the field and says what to change."""
    tz = context.settings.tz
    return GoalOut.of(service.create_goal(session, body, _today(context), tz, by=key_actor(key)))


@router.get(
    "/goals/{goal_id}",
    response_model=GoalOut,
    tags=["goals"],
    summary="One goal",
    responses=NOT_FOUND,
)
def get_goal(goal_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    return GoalOut.of(service.get_goal(session, goal_id))


@router.patch(
    "/goals/{goal_id}",
    response_model=GoalOut,
    tags=["goals"],
    summary="Change a goal",
    responses=NOT_FOUND,
)
def update_goal(
    goal_id: IdPath, body: GoalPatch, session: SessionDep, context: ContextDep, key: AdminKey
) -> Any:
    """Only the fields sent change; the goal as a whole is checked again. A computed baseline
    is recomputed when the KPI, scope, grain, start or baseline period change."""
    return GoalOut.of(
        service.update_goal(
            session, goal_id, body, _today(context), context.settings.tz, by=key_actor(key)
        )
    )


@router.delete(
    "/goals/{goal_id}",
    status_code=204,
    tags=["goals"],
    summary="Delete a goal",
    responses=NOT_FOUND,
)
def delete_goal(goal_id: IdPath, session: SessionDep, key: AdminKey) -> Response:
    """Its milestones, check-ins and alignment history go with it (its history of changes
    is kept). To stop tracking it and keep everything, archive it instead."""
    service.delete_goal(session, goal_id, by=key_actor(key))
    return Response(status_code=204)


# ---- milestones ----------------------------------------------------------------------------

MILESTONE_COLUMNS = list(MilestoneOut.model_fields)


@router.get(
    "/goals/{goal_id}/milestones",
    response_model=list[MilestoneOut],
    tags=["goals"],
    summary="A goal's milestones",
    responses={**CSV_RESPONSES, **NOT_FOUND},
)
def list_milestones(
    goal_id: IdPath, request: Request, session: SessionDep, _key: ReadKey, format: CsvFormat = None
) -> Any:
    """Earliest first. GET /api/v1/goals/{id}/alignment says which were hit or missed."""
    rows = [MilestoneOut.of(m) for m in checkpoints.list_milestones(session, goal_id)]
    if wants_csv(request, format):
        return csv_response(
            (r.model_dump() for r in rows), MILESTONE_COLUMNS, f"goal-{goal_id}-milestones.csv"
        )
    return rows


@router.post(
    "/goals/{goal_id}/milestones",
    response_model=MilestoneOut,
    status_code=201,
    tags=["goals"],
    summary="Add a milestone",
    responses=NOT_FOUND,
)
def create_milestone(goal_id: IdPath, body: MilestoneIn, session: SessionDep, key: AdminKey) -> Any:
    """A dated intermediate target between the goal's start and due dates. Expected progress
    then runs in a straight line from milestone to milestone."""
    return MilestoneOut.of(checkpoints.create_milestone(session, goal_id, body, by=key_actor(key)))


@router.patch(
    "/milestones/{milestone_id}",
    response_model=MilestoneOut,
    tags=["goals"],
    summary="Change a milestone",
    responses=NOT_FOUND,
)
def update_milestone(
    milestone_id: IdPath, body: MilestonePatch, session: SessionDep, key: AdminKey
) -> Any:
    return MilestoneOut.of(
        checkpoints.update_milestone(session, milestone_id, body, by=key_actor(key))
    )


@router.delete(
    "/milestones/{milestone_id}",
    status_code=204,
    tags=["goals"],
    summary="Delete a milestone",
    responses=NOT_FOUND,
)
def delete_milestone(milestone_id: IdPath, session: SessionDep, key: AdminKey) -> Response:
    checkpoints.delete_milestone(session, milestone_id, by=key_actor(key))
    return Response(status_code=204)
