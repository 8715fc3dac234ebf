"""`GET /api/v1/health`: is the service able to do its job? No API key needed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.api.deps import ContextDep
from app.ingest.models import RunStatus, SyncCursor, SyncRun
from app.sources.models import Source

router = APIRouter(tags=["health"])


class SchedulerHealth(BaseModel):
    in_this_process: bool = Field(description="False when started with --no-scheduler.")
    running: bool
    last_reconcile_at: datetime | None = None
    scheduled_sources: int = 0
    syncs_in_progress: list[int] = []


class SourceHealth(BaseModel):
    id: int
    name: str
    status: str
    last_success_at: datetime | None = Field(
        description="When the stream that succeeded least recently last succeeded."
    )
    failing_streams: int
    latest_failure: str | None = Field(
        None,
        description="What went wrong in the newest failed run, when no run has succeeded "
        "since (a sync that stopped before any stream ran shows here too).",
    )


class Health(BaseModel):
    status: str = Field(description="`ok`, or `degraded` when the database cannot be reached.")
    database: str
    scheduler: SchedulerHealth
    sources: list[SourceHealth]


@router.get("/health", response_model=Health, summary="Service health")
def health(context: ContextDep) -> Any:
    """Database reachable, scheduler alive, and how fresh each source's data is."""
    scheduler = context.scheduler
    scheduler_state = SchedulerHealth(
        in_this_process=scheduler is not None,
        running=bool(scheduler and scheduler.running),
        **({k: v for k, v in scheduler.state().items() if k != "running"} if scheduler else {}),
    )
    sources: list[SourceHealth] = []
    try:
        with context.db.session() as session:
            session.execute(text("SELECT 1"))
            rows = session.execute(
                select(
                    Source.id,
                    Source.name,
                    Source.status,
                    func.min(SyncCursor.last_success_at),
                    func.count(SyncCursor.stream).filter(SyncCursor.consecutive_failures > 0),
                )
                .outerjoin(SyncCursor, SyncCursor.source_id == Source.id)
                .group_by(Source.id, Source.name, Source.status)
                .order_by(Source.id)
            ).all()
            failures = _latest_failures(session)
        sources = [
            SourceHealth(
                id=r[0],
                name=r[1],
                status=r[2],
                last_success_at=r[3],
                failing_streams=r[4],
                latest_failure=failures.get(r[0]),
            )
            for r in rows
        ]
        database = "ok"
    except Exception:
        database = "unreachable"
    body = Health(
        status="ok" if database == "ok" else "degraded",
        database=database,
        scheduler=scheduler_state,
        sources=sources,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if database == "ok" else 503)


def _latest_failures(session: Session) -> dict[int, str]:
    """Per source: the newest failed run's message, when it is newer than every success."""
    newest_success = (
        select(SyncRun.source_id, func.max(SyncRun.started_at).label("at"))
        .where(SyncRun.status == RunStatus.SUCCEEDED)
        .group_by(SyncRun.source_id)
        .subquery()
    )
    failed = session.execute(
        select(SyncRun.source_id, SyncRun.stream, SyncRun.error_message, SyncRun.started_at)
        .outerjoin(newest_success, newest_success.c.source_id == SyncRun.source_id)
        .where(
            SyncRun.status == RunStatus.FAILED,
            (newest_success.c.at.is_(None)) | (SyncRun.started_at > newest_success.c.at),
        )
        .order_by(SyncRun.started_at)
    ).all()
    return {
        source_id: f"{stream}: {message or 'failed'}"
        for source_id, stream, message, _started in failed
    }
