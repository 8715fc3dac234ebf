"""`GET /api/v1/health`: is the service able to do its job?

No API key needed for the overall status and counts; with a read key, the scheduler's syncs
in progress and every source by name with its state, latest failure and freshness.

`degraded` when the database cannot be reached (answered 503), and when a source that is
not paused is failing (`unverified`, `needs_attention`, a failing stream or a failed run
not followed by a success) or stale (a stream not checked for `stale_after_intervals` of its
own interval, app.ingest.freshness): answered with `health_degraded_status`, 200 by default,
so a load balancer keeps a service whose PSA is down in rotation (503 when the deployment
wants otherwise).
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
from app.db import utcnow
from app.errors import NorthstarError
from app.ingest.freshness import freshness_by_source
from app.ingest.models import RunStatus, SyncCursor, SyncRun
from app.push.models import PushChannel, PushState
from app.sources.models import Source, SourceStatus
from app.sources.schemas import FreshnessOut

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
    status_message: str | None = Field(
        None, description="Why it is not active: what happened and the setting to fix."
    )
    last_success_at: datetime | None = Field(
        description="When the stream that succeeded least recently last succeeded."
    )
    failing_streams: int
    latest_failure: str | None = Field(
        None,
        description="What went wrong in the newest failed run, when no run has succeeded "
        "since (a sync that stopped before any stream ran shows here too).",
    )
    failing: bool = Field(
        False,
        description="Not paused, and `unverified`, `needs_attention`, with a failing stream "
        "or a latest failure.",
    )
    stale: bool = Field(
        False,
        description="Active, and a stream not checked for `stale_after_intervals` (default "
        "3) of its own intervals: tickets and time entries after 3 minutes at the default "
        "60-second cadence, slow data after 3 hours.",
    )
    freshness: FreshnessOut | None = Field(
        None,
        description="Per stream: when it was last checked, how new its newest change is, "
        "and whether it is stale.",
    )
    push: str = Field(
        "off",
        description="Whether the PSA announces changes as they happen: `active`, `gap` "
        "(it changed records without telling Northstar), `failed` or `off` (see `push` in "
        "GET /api/v1/sources/{id}).",
    )


class PublicHealth(BaseModel):
    """What anyone may know: whether the service works, and how many sources fail."""

    status: str = Field(
        description="`ok`, or `degraded` when the database cannot be reached or a source "
        "that is not paused is failing or stale."
    )
    database: str
    scheduler: PublicSchedulerHealth
    sources_total: int = Field(description="Sources configured.")
    sources_failing: int = Field(
        description="Sources not paused that are `unverified` or `needs_attention`, or have "
        "a failing stream or a failed run not followed by a success."
    )
    sources_stale: int = Field(
        0,
        description="Active sources with a stream not checked for `stale_after_intervals` "
        "(default 3) of its interval: for tickets, 3 minutes at the default cadence.",
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
        503: {
            "description": "`status` is `degraded`: the database cannot be reached, or a "
            "source is failing or stale and NORTHSTAR_HEALTH_DEGRADED_STATUS is 503."
        },
    },
)
def service_health(request: Request, context: ContextDep) -> Any:
    """Database reachable, scheduler alive and how many sources fail or are stale, for
    anyone (a load balancer, an uptime check). `status` is `degraded` when the database
    cannot be reached (answered 503) or when a source that is not paused is failing or
    stale, a stream unchecked for three of its intervals (answered 200, or the status set in
    NORTHSTAR_HEALTH_DEGRADED_STATUS, e.g. 503 for a load balancer that should take it out
    of rotation). With a read key (`Authorization: Bearer`, `X-API-Key`): every source by
    name, its state, how fresh its data is and its latest failure."""
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
    """The health document: in full, or (`details=False`) the status and counts only;
    503 when the database is down, `health_degraded_status` when a source fails."""
    scheduler = context.scheduler
    scheduler_state = SchedulerHealth(
        in_this_process=scheduler is not None,
        running=bool(scheduler and scheduler.running),
        **({k: v for k, v in scheduler.state().items() if k != "running"} if scheduler else {}),
    )
    rows: list[Any] = []
    failures: dict[int, str] = {}
    push_states: dict[int, str] = {}
    freshness: dict[int, FreshnessOut] = {}
    now = utcnow()
    try:
        with context.db.session() as session:
            session.execute(text("SELECT 1"))
            rows = list(
                session.execute(
                    select(
                        Source.id,
                        Source.name,
                        Source.status,
                        Source.status_message,
                        func.min(SyncCursor.last_success_at),
                        func.count(SyncCursor.stream).filter(SyncCursor.consecutive_failures > 0),
                    )
                    .outerjoin(SyncCursor, SyncCursor.source_id == Source.id)
                    .group_by(Source.id)
                    .order_by(Source.id)
                )
            )
            failures = _latest_failures(session)
            push_states = {
                source_id: state
                for source_id, state in session.execute(
                    select(PushChannel.source_id, PushChannel.state)
                )
            }
            stale_after = context.settings.stale_after_intervals
            freshness = {
                source_id: FreshnessOut.model_validate(fresh)
                for source_id, fresh in freshness_by_source(
                    session, list(session.scalars(select(Source))), now, stale_after
                ).items()
            }
        database = "ok"
    except Exception:
        database = "unreachable"
    sources = []
    for r in rows:
        status, oldest_success, failing_streams = r[2], r[4], r[5]
        fresh = freshness.get(r[0])
        sources.append(
            SourceHealth(
                id=r[0],
                name=r[1],
                status=status,
                status_message=r[3] if status != SourceStatus.ACTIVE else None,
                last_success_at=oldest_success,
                failing_streams=failing_streams,
                latest_failure=failures.get(r[0]),
                failing=_failing(status, failing_streams, failures.get(r[0])),
                stale=bool(fresh and fresh.stale),
                freshness=fresh,
                push=push_states.get(r[0], PushState.OFF),
            )
        )
    failing = sum(1 for s in sources if s.failing)
    stale = sum(1 for s in sources if s.stale)
    degraded = database != "ok" or failing > 0 or stale > 0
    public = PublicHealth(
        status="degraded" if degraded else "ok",
        database=database,
        scheduler=PublicSchedulerHealth(
            **scheduler_state.model_dump(exclude={"syncs_in_progress"})
        ),
        sources_total=len(sources),
        sources_failing=failing,
        sources_stale=stale,
    )
    body: PublicHealth = (
        Health(**{**public.model_dump(), "scheduler": scheduler_state, "sources": sources})
        if details
        else public
    )
    if database != "ok":
        status_code = 503
    else:
        status_code = context.settings.health_degraded_status if degraded else 200
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)


def _failing(status: str, failing_streams: int, latest_failure: str | None) -> bool:
    if status == SourceStatus.PAUSED:
        return False
    not_verified = status in (SourceStatus.UNVERIFIED, SourceStatus.NEEDS_ATTENTION)
    return not_verified or bool(failing_streams or latest_failure)


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
