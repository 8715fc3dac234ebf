"""`/api/v1/objectives/{id}/archive|restore|history`, `/goals/{id}/archive|restore|history`
and `/api/v1/stories`: keeping the plan tidy, its history, and the stories told for each
quarter.

Read keys read; changes need an admin key. Who made a change is recorded as the key's name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from app.api.deps import AdminKey, ContextDep, ReadKey, SessionDep
from app.api.params import IdPath
from app.goals import objectives, service, stories
from app.goals.history import (
    change_words,
    changed_fields,
    goal_history,
    kpi_unit,
    objective_history,
)
from app.goals.models import PlanChange, StoryKind
from app.goals.plan_schemas import PlanChangeOut, StoryIn, StoryOut, StoryPatch
from app.goals.schemas import GoalOut, ObjectiveOut
from app.security.models import ApiKey

router = APIRouter()

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (see `code`)."}}


def key_actor(key: ApiKey) -> str:
    """Who an API-key request is recorded as: "API key <its name>"."""
    return f"API key {key.name}"


def changes_out(
    session: Session, rows: list[PlanChange], *, name_goal: bool = False
) -> list[PlanChangeOut]:
    units: dict[int | None, str] = {}
    out = []
    for row in rows:
        if row.goal_id not in units:
            units[row.goal_id] = kpi_unit(session, row)
        words = change_words(row, units[row.goal_id], name_goal=name_goal)
        out.append(PlanChangeOut.of(row, words, changed_fields(row)))
    return out


# ---- archiving -----------------------------------------------------------------------------


@router.post(
    "/objectives/{objective_id}/archive",
    response_model=ObjectiveOut,
    tags=["objectives"],
    summary="Archive an objective",
    responses=NOT_FOUND,
)
def archive_objective(objective_id: IdPath, session: SessionDep, key: AdminKey) -> Any:
    """It leaves the scorecard, the overview and the alerts, with its goals and child
    objectives; it stays readable here and in the reviews of the quarters it was in use,
    and can be restored. Nothing is deleted."""
    return ObjectiveOut.of(objectives.archive_objective(session, objective_id, by=key_actor(key)))


@router.post(
    "/objectives/{objective_id}/restore",
    response_model=ObjectiveOut,
    tags=["objectives"],
    summary="Restore an archived objective",
    responses={**NOT_FOUND, 409: {"description": "Its parent is archived (`parent_archived`)."}},
)
def restore_objective(objective_id: IdPath, session: SessionDep, key: AdminKey) -> Any:
    """Back on the scorecard with the goals and child objectives archived with it."""
    return ObjectiveOut.of(objectives.restore_objective(session, objective_id, by=key_actor(key)))


@router.post(
    "/goals/{goal_id}/archive",
    response_model=GoalOut,
    tags=["goals"],
    summary="Archive a goal",
    responses=NOT_FOUND,
)
def archive_goal(goal_id: IdPath, session: SessionDep, key: AdminKey) -> Any:
    """It leaves the scorecard, the overview, the daily snapshots and the alerts; its
    check-ins, milestones and history are kept and it can be restored."""
    return GoalOut.of(service.archive_goal(session, goal_id, by=key_actor(key)))


@router.post(
    "/goals/{goal_id}/restore",
    response_model=GoalOut,
    tags=["goals"],
    summary="Restore an archived goal",
    responses={
        **NOT_FOUND,
        409: {"description": "Its objective is archived (`objective_archived`)."},
    },
)
def restore_goal(goal_id: IdPath, session: SessionDep, key: AdminKey) -> Any:
    return GoalOut.of(service.restore_goal(session, goal_id, by=key_actor(key)))


# ---- history -------------------------------------------------------------------------------


@router.get(
    "/goals/{goal_id}/history",
    response_model=list[PlanChangeOut],
    tags=["goals"],
    summary="A goal's history",
    responses=NOT_FOUND,
)
def get_goal_history(goal_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    """Every change to the goal and its milestones, newest first: who, when, what it was
    and what it became. Kept after the goal is deleted."""
    rows = goal_history(session, goal_id)
    if not rows:
        service.get_goal(session, goal_id)  # 404 for a goal that never existed
    return changes_out(session, rows)


@router.get(
    "/objectives/{objective_id}/history",
    response_model=list[PlanChangeOut],
    tags=["objectives"],
    summary="An objective's history",
    responses=NOT_FOUND,
)
def get_objective_history(objective_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    """Every change to the objective, and to the goals and milestones it held when they
    were made, newest first."""
    rows = objective_history(session, objective_id)
    if not rows:
        objectives.get_objective(session, objective_id)
    return changes_out(session, rows, name_goal=True)


# ---- stories -------------------------------------------------------------------------------


@router.get("/stories", response_model=list[StoryOut], tags=["stories"], summary="List stories")
def list_stories(
    session: SessionDep,
    _key: ReadKey,
    quarter: Annotated[
        str | None, Query(description="Only this quarter's, e.g. 2026-Q2.", max_length=20)
    ] = None,
    kind: Annotated[StoryKind | None, Query(description="client or employee.")] = None,
) -> Any:
    """Oldest first."""
    rows = stories.list_stories(session, quarter=quarter, kind=kind.value if kind else None)
    return [StoryOut.of(r) for r in rows]


@router.post(
    "/stories", response_model=StoryOut, status_code=201, tags=["stories"], summary="Record a story"
)
def create_story(body: StoryIn, session: SessionDep, context: ContextDep, key: AdminKey) -> Any:
    """A client's or an employee's story, recorded for a quarter (by default, the quarter
    of its date). The quarter's review opens with its stories. Recorded as told by whoever
    records it (here, the API key's name)."""
    today = datetime.now(context.settings.tz).date()
    return StoryOut.of(stories.create_story(session, body, today, by=key_actor(key)))


@router.get(
    "/stories/{story_id}",
    response_model=StoryOut,
    tags=["stories"],
    summary="One story",
    responses=NOT_FOUND,
)
def get_story(story_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    return StoryOut.of(stories.get_story(session, story_id))


@router.patch(
    "/stories/{story_id}",
    response_model=StoryOut,
    tags=["stories"],
    summary="Change a story",
    responses=NOT_FOUND,
)
def update_story(story_id: IdPath, body: StoryPatch, session: SessionDep, _key: AdminKey) -> Any:
    """Only the fields sent change."""
    return StoryOut.of(stories.update_story(session, story_id, body))


@router.delete(
    "/stories/{story_id}",
    status_code=204,
    tags=["stories"],
    summary="Delete a story",
    responses=NOT_FOUND,
)
def delete_story(story_id: IdPath, session: SessionDep, _key: AdminKey) -> Response:
    stories.delete_story(session, story_id)
    return Response(status_code=204)
