"""`GET /api/v1/health`: is the service able to do its job?

No API key needed for the overall status and counts; with a read key, the scheduler's syncs
in progress and every source by name with its state and latest failure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.api.context import ServiceContext
from app.api.deps import ContextDep, authenticate, key_in_request
from app.errors import NorthstarError
from app.ingest.models import RunStatus, SyncCursor, SyncRun
from app.sources.models import Source

router = APIRouter(tags=["health"])


class PublicSchedulerHealth(BaseModel):
    in_this_process: bool = Field(description="False when started with --no-scheduler.")
    running: bool
    last_reconcile_at: datetime | None = None
    scheduled_sources: int = 0


class SchedulerHealth(PublicSchedulerHealth):
    syncs_in_progress: list[int] = Field([], description="Ids of the sources syncing now.")


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


class PublicHealth(BaseModel):
    """What anyone may know: whether the service works, and how many sources fail."""

    status: str = Field(description="`ok`, or `degraded` when the database cannot be reached.")
    database: str
    scheduler: PublicSchedulerHealth
    sources_total: int = Field(description="Sources configured.")
    sources_failing: int = Field(
        description="Sources with a failing stream or a failed run not followed by a success."
    )


class Health(PublicHealth):
    """With a read key: the same, plus syncs in progress and every source in detail."""

    scheduler: SchedulerHealth
    sources: list[SourceHealth]


@router.get(
    "/health",
    response_model=Health | PublicHealth,
    summary="Service health",
    responses={
        401: {"description": "A key was sent and is not valid (no key: the public view)."},
        429: {"description": "Too many wrong keys from this address; see `Retry-After`."},
        503: {"description": "The database cannot be reached (`status` is `degraded`)."},
    },
)
def service_health(request: Request, context: ContextDep) -> Any:
    """Database reachable, scheduler alive and how many sources fail, for anyone (a load
    balancer, an uptime check). With a read key (`Authorization: Bearer`, `X-API-Key`):
    every source by name, its state, how fresh its data is and its latest failure."""
    presented = key_in_request(request)
    details = False
    if presented is not None:
        try:
            with context.db.session() as session:
                authenticate(session, presented.value, request=request, sent_as=presented.sent_as)
            details = True
        except NorthstarError:
            raise
        except Exception:
            details = False  # the database is down: the public view says so
    return health(context, details=details)


def health(context: ServiceContext, *, details: bool = True) -> JSONResponse:
    """The health document: in full, or (`details=False`) the status and counts only."""
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
    failing = sum(1 for s in sources if s.failing_streams or s.latest_failure)
    public = PublicHealth(
        status="ok" if database == "ok" else "degraded",
        database=database,
        scheduler=PublicSchedulerHealth(
            **scheduler_state.model_dump(exclude={"syncs_in_progress"})
        ),
        sources_total=len(sources),
        sources_failing=failing,
    )
    body: PublicHealth = (
        Health(**{**public.model_dump(), "scheduler": scheduler_state, "sources": sources})
        if details
        else public
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
