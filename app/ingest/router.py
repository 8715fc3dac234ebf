"""`/api/v1/sources/{id}/runs` and `/quarantine`: what each sync did and what it could not store."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from app.api.deps import ReadKey, SessionDep
from app.api.tabular import CSV_RESPONSES, CsvFormat, csv_response, wants_csv
from app.ingest.models import QuarantinedRecord, SyncRun
from app.sources import service
from app.sources.schemas import QuarantinedRecordOut, RunOut, SkippedRecord

router = APIRouter(tags=["sources"])

SKIPPED_PER_RUN = 20
RUN_COLUMNS = [name for name in RunOut.model_fields if name != "skipped"]
QUARANTINE_COLUMNS = [name for name in QuarantinedRecordOut.model_fields if name != "raw"]


@router.get(
    "/sources/{source_id}/runs",
    response_model=list[RunOut],
    summary="Sync history",
    responses=CSV_RESPONSES,
)
def list_runs(
    source_id: int,
    request: Request,
    session: SessionDep,
    _key: ReadKey,
    limit: Annotated[int, Query(ge=1, le=500, description="How many runs, newest first.")] = 50,
    format: CsvFormat = None,
) -> Any:
    """What each sync did, newest first: records read, facts written and deleted, records
    that could not be stored (and why), requests, warnings, and what went wrong."""
    service.get_source(session, source_id)
    rows = list(
        session.scalars(
            select(SyncRun)
            .where(SyncRun.source_id == source_id)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(limit)
        )
    )
    skipped: dict[int, list[SkippedRecord]] = defaultdict(list)
    for held in session.scalars(
        select(QuarantinedRecord)
        .where(QuarantinedRecord.last_run_id.in_([r.id for r in rows if r.records_skipped]))
        .order_by(QuarantinedRecord.id)
    ):
        assert held.last_run_id is not None
        if len(skipped[held.last_run_id]) < SKIPPED_PER_RUN:
            skipped[held.last_run_id].append(SkippedRecord.model_validate(held))
    runs = [
        RunOut.model_validate(run).model_copy(update={"skipped": skipped.get(run.id, [])})
        for run in rows
    ]
    if wants_csv(request, format):
        lines = ({**r.model_dump(), "warnings": " | ".join(r.warnings)} for r in runs)
        return csv_response(lines, RUN_COLUMNS, f"source-{source_id}-runs.csv")
    return runs


@router.get(
    "/sources/{source_id}/quarantine",
    response_model=list[QuarantinedRecordOut],
    summary="Records that could not be stored",
    responses=CSV_RESPONSES,
)
def list_quarantine(
    source_id: int,
    request: Request,
    session: SessionDep,
    _key: ReadKey,
    stream: Annotated[str | None, Query(description="Only this stream's records.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, oldest first.")] = 200,
    format: CsvFormat = None,
) -> Any:
    """Records the PSA sent that Northstar could not store (a required field missing, a
    number that is not one), with the field and the reason. The rest of their page was
    stored. Each is tried again whenever the PSA sends it again: fix it in the PSA and it
    leaves this list at the next sync."""
    service.get_source(session, source_id)
    query = select(QuarantinedRecord).where(QuarantinedRecord.source_id == source_id)
    if stream is not None:
        query = query.where(QuarantinedRecord.stream == stream)
    held = [
        QuarantinedRecordOut.model_validate(row)
        for row in session.scalars(query.order_by(QuarantinedRecord.id).limit(limit))
    ]
    if wants_csv(request, format):
        return csv_response(
            (r.model_dump() for r in held), QUARANTINE_COLUMNS, f"source-{source_id}-quarantine.csv"
        )
    return held
