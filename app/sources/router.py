"""`/api/v1/sources`: your PSA connections, their checks, syncs and sync history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, select

from app.api.context import ServiceContext
from app.api.deps import AdminKey, ContextDep, ReadKey, SessionDep
from app.api.tabular import CSV_RESPONSES, CsvFormat, csv_response, wants_csv
from app.db import utcnow
from app.errors import InvalidInput
from app.ingest.freshness import source_freshness
from app.ingest.models import SyncCursor
from app.ingest.registry import registry
from app.kpis.coverage import synced_until_of
from app.push.setup import withdraw_push
from app.push.view import push_out
from app.security.crypto import CredentialCipher
from app.sources import service
from app.sources.budget_ledger import booked_last_hour
from app.sources.checks import CheckOutcome, SourceChecker
from app.sources.config import decrypt_secrets, masked_config
from app.sources.models import Source, SourceStatus
from app.sources.pace_view import budget_out, current_pace
from app.sources.schemas import (
    CheckResult,
    ConnectorOut,
    FreshnessOut,
    SourceChecked,
    SourceCoverage,
    SourceCreate,
    SourceOut,
    SourceUpdate,
    StreamState,
    SyncRequested,
)

router = APIRouter(tags=["sources"])

# What a source that is not active needs before it can be synced.
WHAT_FIRST: dict[str, str] = {
    SourceStatus.UNVERIFIED: "its check has not passed yet. Fix what `status_message` names "
    "and check it again (POST /sources/{id}/check).",
    SourceStatus.NEEDS_ATTENTION: "edit its settings first.",
    SourceStatus.PAUSED: "resume it first (PATCH with paused=false).",
}


def _out(
    session: SessionDep, cipher: CredentialCipher, source: Source, stale_after: int
) -> SourceOut:
    cls = registry.get(source.kind)
    try:
        present = set(decrypt_secrets(cipher, source.secrets_encrypted))
    except Exception:
        present = set()
    now = utcnow()
    # Worked out once: freshness and the budget both read it (a few queries per source).
    pace = current_pace(session, source, now)[0]
    cursors = list(
        session.scalars(
            select(SyncCursor).where(SyncCursor.source_id == source.id).order_by(SyncCursor.stream)
        )
    )
    return SourceOut(
        id=source.id,
        name=source.name,
        kind=source.kind,
        status=source.status,
        status_code=source.status_code,
        status_message=source.status_message,
        config=masked_config(cls.config_model if cls else None, source.config, present),
        live_interval_seconds=source.live_interval_seconds,
        fast_interval_minutes=source.fast_interval_minutes,
        slow_interval_minutes=source.slow_interval_minutes,
        sync_requested_at=source.sync_requested_at,
        created_at=source.created_at,
        updated_at=source.updated_at,
        coverage=SourceCoverage(
            history_from=source.history_from,
            synced_until=synced_until_of(c.last_success_at for c in cursors),
        ),
        freshness=FreshnessOut.model_validate(
            source_freshness(
                source,
                {c.stream: c for c in cursors},
                now,
                stale_after,
                pace,
            )
        ),
        requests_last_hour=booked_last_hour(session, source.id),
        budget=budget_out(session, source, now, pace),
        push=push_out(session, source.id),
        streams=[
            StreamState(
                stream=c.stream,
                last_success_at=c.last_success_at,
                last_attempt_at=c.last_attempt_at,
                consecutive_failures=c.consecutive_failures,
                next_attempt_at=c.next_attempt_at,
            )
            for c in cursors
        ],
    )


SOURCE_COLUMNS = [
    "id",
    "name",
    "kind",
    "status",
    "status_code",
    "status_message",
    "live_interval_seconds",
    "fast_interval_minutes",
    "slow_interval_minutes",
    "sync_requested_at",
    "created_at",
    "updated_at",
    "stale",
    "history_from",
    "synced_until",
    "requests_last_hour",
]


@router.get(
    "/connectors",
    response_model=list[ConnectorOut],
    summary="Installed PSA connectors",
    responses=CSV_RESPONSES,
)
def list_connectors(request: Request, _key: ReadKey, format: CsvFormat = None) -> Any:
    """Which PSAs this Northstar can read, with the settings each one needs."""
    connectors = [
        ConnectorOut(
            kind=kind,
            name=cls.display_name,
            streams=list(cls.streams),
            config_schema=cls.config_model.model_json_schema(),
        )
        for kind, cls in sorted(registry.all().items())
    ]
    if wants_csv(request, format):
        rows = (
            {"kind": c.kind, "name": c.name, "streams": " ".join(c.streams)} for c in connectors
        )
        return csv_response(rows, ["kind", "name", "streams"], "connectors.csv")
    return connectors


@router.get(
    "/sources", response_model=list[SourceOut], summary="List sources", responses=CSV_RESPONSES
)
def list_sources(
    request: Request,
    session: SessionDep,
    context: ContextDep,
    _key: ReadKey,
    format: CsvFormat = None,
) -> Any:
    """Your PSA connections, their status, the state of each stream, which days of each
    PSA's data Northstar holds (`coverage`) and how fresh it is (`freshness`: when each
    stream was last checked, how new its newest change is, and whether it is `stale`). CSV:
    one row per source, without settings."""
    stale_after = context.settings.stale_after_intervals
    sources = [_out(session, context.cipher, s, stale_after) for s in service.list_sources(session)]
    if wants_csv(request, format):
        rows = (
            {**s.model_dump(), **s.coverage.model_dump(), "stale": s.freshness.stale}
            for s in sources
        )
        return csv_response(rows, SOURCE_COLUMNS, "sources.csv")
    return sources


def _check_result(outcome: CheckOutcome) -> CheckResult:
    return CheckResult(
        ok=outcome.ok,
        code=outcome.code,
        message=outcome.message,
        failure=outcome.failure,
        host=outcome.host,
        settings=list(outcome.settings),
        psa_said=outcome.psa_said,
    )


async def _checked(context: ServiceContext, source_id: int) -> SourceChecked:
    """The source after a check, if its settings await one (it is `unverified`)."""
    with context.db.session() as session:
        waiting = service.get_source(session, source_id).status == SourceStatus.UNVERIFIED
    outcome = await SourceChecker.of(context).check(source_id) if waiting else None
    with context.db.session() as session:
        shown = _out(
            session,
            context.cipher,
            service.get_source(session, source_id),
            context.settings.stale_after_intervals,
        )
    check = _check_result(outcome) if outcome is not None else None
    return SourceChecked(**shown.model_dump(), check=check)


@router.post("/sources", response_model=SourceChecked, status_code=201, summary="Add a source")
async def create_source(body: SourceCreate, context: ContextDep, _key: AdminKey) -> Any:
    """Connect a PSA. The settings are checked against the connector's schema; secrets are
    stored encrypted and never shown again. The source is then checked against the PSA at
    once (a few seconds at most): it is `active`, and synced on schedule, when the check
    passes; otherwise it stays `unverified`, and `check` (and `status_message`) say what
    went wrong, at which host, and which setting to fix."""
    settings = context.settings
    with context.db.session() as session:
        source_id = service.create_source(
            session,
            context.cipher,
            name=body.name,
            kind=body.kind,
            config=body.config,
            fast_interval_minutes=body.fast_interval_minutes
            or settings.default_fast_interval_minutes,
            slow_interval_minutes=body.slow_interval_minutes
            or settings.default_slow_interval_minutes,
            live_interval_seconds=body.live_interval_seconds
            or settings.default_live_interval_seconds,
        ).id
    return await _checked(context, source_id)


@router.get("/sources/{source_id}", response_model=SourceOut, summary="One source")
def get_source(source_id: int, session: SessionDep, context: ContextDep, _key: ReadKey) -> Any:
    return _out(
        session,
        context.cipher,
        service.get_source(session, source_id),
        context.settings.stale_after_intervals,
    )


@router.patch("/sources/{source_id}", response_model=SourceChecked, summary="Change a source")
async def update_source(
    source_id: int, body: SourceUpdate, context: ContextDep, _key: AdminKey
) -> Any:
    """Change settings, intervals or pause it. Changed settings, and resuming a paused
    source, make it `unverified` and check it at once, as adding one does: it is synced
    again when the check passes. Settings sent back unchanged change nothing."""
    with context.db.session() as session:
        service.update_source(
            session,
            context.cipher,
            service.get_source(session, source_id),
            name=body.name,
            config=body.config,
            fast_interval_minutes=body.fast_interval_minutes,
            slow_interval_minutes=body.slow_interval_minutes,
            live_interval_seconds=body.live_interval_seconds,
            paused=body.paused,
        )
    return await _checked(context, source_id)


@router.delete("/sources/{source_id}", status_code=204, summary="Remove a source")
async def delete_source(source_id: int, context: ContextDep, _key: AdminKey) -> Response:
    """Removes the source with every fact, cursor and sync run that came from it, and the
    callbacks or webhooks Northstar registered in its PSA for push."""
    with context.db.session() as session:
        source = service.get_source(session, source_id)
        session.expunge(source)
    await withdraw_push(
        context.db,
        context.cipher,
        source,
        reporting_tz=context.settings.tz,
        transport=context.runner.transports(source),
    )
    with context.db.session() as session:
        session.execute(delete(Source).where(Source.id == source.id))
    return Response(status_code=204)


@router.post("/sources/{source_id}/check", response_model=CheckResult, summary="Test a source")
async def check_source(source_id: int, context: ContextDep, _key: AdminKey) -> Any:
    """Makes one cheap authenticated call to the PSA (one try, a few seconds at most) and
    says whether it worked; if not, what happened, at which host, and which setting to fix.
    A check that passes makes an `unverified` or `needs_attention` source `active`; refused
    credentials or settings put an active source in `needs_attention`. The PSA's own words
    follow Northstar's, with every credential masked."""
    return _check_result(await SourceChecker.of(context).check(source_id))


@router.post(
    "/sources/{source_id}/sync",
    response_model=SyncRequested,
    status_code=202,
    summary="Sync a source now",
)
def request_sync(source_id: int, session: SessionDep, context: ContextDep, _key: AdminKey) -> Any:
    """Asks the scheduler to sync every stream of the source now, not at its next interval,
    including streams waiting out a backoff after a failure. Each request is answered by one
    sync that starts after it, recorded in the runs with trigger `manual` and the request's
    time in `requested_at`; requests made before that sync starts share it."""
    source = service.get_source(session, source_id)
    if source.status != SourceStatus.ACTIVE:
        raise InvalidInput(
            f"The source is {source.status.replace('_', ' ')}: {WHAT_FIRST.get(source.status, '')}",
            code="source_not_active",
        )
    source.sync_requested_at = utcnow()
    # Committed before the scheduler is woken: the sync it starts must see the request.
    session.commit()
    scheduler = context.scheduler
    busy = scheduler is not None and source.id in scheduler.syncs_in_progress
    woken = scheduler.wake(source.id) if scheduler else False
    if busy:
        message = "A sync of this source is running; yours starts as soon as it ends."
    elif woken:
        message = "The sync has started."
    else:
        message = "The sync will start within a minute, when a scheduler picks it up."
    return SyncRequested(
        source_id=source.id, requested_at=source.sync_requested_at, message=message
    )
