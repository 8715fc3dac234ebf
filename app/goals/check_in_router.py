"""`/api/v1/check-ins`: how confident people are that a goal or objective will be reached.

Read keys read; changes need an admin key. Lists also come as CSV."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from app.api.context import ServiceContext
from app.api.deps import AdminKey, ContextDep, ReadKey, SessionDep
from app.api.params import DayParam, IdPath, day_query, id_query
from app.api.tabular import CSV_RESPONSES, CsvFormat, csv_response, wants_csv
from app.goals import checkpoints
from app.goals.plan_router import key_actor
from app.goals.schemas import CheckInIn, CheckInOut, CheckInPatch

router = APIRouter()

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (see `code`)."}}


def _today(context: ServiceContext) -> date:
    return datetime.now(context.settings.tz).date()


# ---- check-ins -----------------------------------------------------------------------------

CHECK_IN_COLUMNS = list(CheckInOut.model_fields)


@router.get(
    "/check-ins",
    response_model=list[CheckInOut],
    tags=["check-ins"],
    summary="List check-ins",
    responses=CSV_RESPONSES,
)
def list_check_ins(
    request: Request,
    session: SessionDep,
    _key: ReadKey,
    goal_id: Annotated[int | None, id_query("Only this goal's.")] = None,
    objective_id: Annotated[int | None, id_query("Only this objective's.")] = None,
    from_: Annotated[DayParam, day_query("From this day.", alias="from")] = None,
    to: Annotated[DayParam, day_query("Before this day (exclusive).")] = None,
    format: CsvFormat = None,
) -> Any:
    """Oldest first."""
    rows = [
        CheckInOut.of(c)
        for c in checkpoints.list_check_ins(
            session, goal_id=goal_id, objective_id=objective_id, start=from_, end=to
        )
    ]
    if wants_csv(request, format):
        return csv_response((r.model_dump() for r in rows), CHECK_IN_COLUMNS, "check-ins.csv")
    return rows


@router.post(
    "/check-ins",
    response_model=CheckInOut,
    status_code=201,
    tags=["check-ins"],
    summary="Record a check-in",
)
def create_check_in(
    body: CheckInIn, session: SessionDep, context: ContextDep, key: AdminKey
) -> Any:
    """How confident someone is (1–10) that a goal or objective will be reached, and why.
    Confidence is kept apart from measured progress: progress lags, confidence leads, and
    reviews show both. Without an `author`, the check-in is recorded as the API key's."""
    row = checkpoints.create_check_in(session, body, _today(context), by=key_actor(key))
    return CheckInOut.of(row)


@router.get(
    "/check-ins/{check_in_id}",
    response_model=CheckInOut,
    tags=["check-ins"],
    summary="One check-in",
    responses=NOT_FOUND,
)
def get_check_in(check_in_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    return CheckInOut.of(checkpoints.get_check_in(session, check_in_id))


@router.patch(
    "/check-ins/{check_in_id}",
    response_model=CheckInOut,
    tags=["check-ins"],
    summary="Change a check-in",
    responses=NOT_FOUND,
)
def update_check_in(
    check_in_id: IdPath, body: CheckInPatch, session: SessionDep, _key: AdminKey
) -> Any:
    return CheckInOut.of(checkpoints.update_check_in(session, check_in_id, body))


@router.delete(
    "/check-ins/{check_in_id}",
    status_code=204,
    tags=["check-ins"],
    summary="Delete a check-in",
    responses=NOT_FOUND,
)
def delete_check_in(check_in_id: IdPath, session: SessionDep, _key: AdminKey) -> Response:
    checkpoints.delete_check_in(session, check_in_id)
    return Response(status_code=204)
