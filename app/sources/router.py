"""`/api/v1/sources`: your PSA connections, their checks, syncs and sync history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, select

from app.api.deps import AdminKey, ContextDep, ReadKey, SessionDep
from app.api.tabular import CSV_RESPONSES, CsvFormat, csv_response, wants_csv
from app.db import utcnow
from app.errors import InvalidInput
from app.ingest.models import SyncCursor
from app.ingest.registry import registry
from app.kpis.coverage import synced_until_of
from app.security.crypto import CredentialCipher
from app.sources import service
from app.sources.config import decrypt_secrets, masked_config
from app.sources.models import Source, SourceStatus
from app.sources.schemas import (
    CheckResult,
    ConnectorOut,
    SourceCoverage,
    SourceCreate,
    SourceOut,
    SourceUpdate,
    StreamState,
    SyncRequested,
)

router = APIRouter(tags=["sources"])


def _out(session: SessionDep, cipher: CredentialCipher, source: Source) -> SourceOut:
    cls = registry.get(source.kind)
    try:
        present = set(decrypt_secrets(cipher, source.secrets_encrypted))
    except Exception:
        present = set()
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
        fast_interval_minutes=source.fast_interval_minutes,
        slow_interval_minutes=source.slow_interval_minutes,
        sync_requested_at=source.sync_requested_at,
        created_at=source.created_at,
        updated_at=source.updated_at,
        coverage=SourceCoverage(
            history_from=source.history_from,
            synced_until=synced_until_of(c.last_success_at for c in cursors),
        ),
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
    "fast_interval_minutes",
    "slow_interval_minutes",
    "sync_requested_at",
    "created_at",
    "updated_at",
    "history_from",
    "synced_until",
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
    """Your PSA connections, their status, the state of each stream and which days of each
    PSA's data Northstar holds (`coverage`). CSV: one row per source, without settings."""
    sources = [_out(session, context.cipher, s) for s in service.list_sources(session)]
    if wants_csv(request, format):
        rows = ({**s.model_dump(), **s.coverage.model_dump()} for s in sources)
        return csv_response(rows, SOURCE_COLUMNS, "sources.csv")
    return sources


@router.post("/sources", response_model=SourceOut, status_code=201, summary="Add a source")
def create_source(
    body: SourceCreate, session: SessionDep, context: ContextDep, _key: AdminKey
) -> Any:
    """Connect a PSA. The settings are checked against the connector's schema; secrets are
    stored encrypted and never shown again."""
    settings = context.settings
    source = service.create_source(
        session,
        context.cipher,
        name=body.name,
        kind=body.kind,
        config=body.config,
        fast_interval_minutes=body.fast_interval_minutes or settings.default_fast_interval_minutes,
        slow_interval_minutes=body.slow_interval_minutes or settings.default_slow_interval_minutes,
    )
    return _out(session, context.cipher, source)


@router.get("/sources/{source_id}", response_model=SourceOut, summary="One source")
def get_source(source_id: int, session: SessionDep, context: ContextDep, _key: ReadKey) -> Any:
    return _out(session, context.cipher, service.get_source(session, source_id))


@router.patch("/sources/{source_id}", response_model=SourceOut, summary="Change a source")
def update_source(
    source_id: int, body: SourceUpdate, session: SessionDep, context: ContextDep, _key: AdminKey
) -> Any:
    """Change settings, intervals or pause it. Editing the settings of a source that needs
    attention puts it back on the schedule."""
    source = service.update_source(
        session,
        context.cipher,
        service.get_source(session, source_id),
        name=body.name,
        config=body.config,
        fast_interval_minutes=body.fast_interval_minutes,
        slow_interval_minutes=body.slow_interval_minutes,
        paused=body.paused,
    )
    return _out(session, context.cipher, source)


@router.delete("/sources/{source_id}", status_code=204, summary="Remove a source")
def delete_source(source_id: int, session: SessionDep, _key: AdminKey) -> Response:
    """Removes the source with every fact, cursor and sync run that came from it."""
    source = service.get_source(session, source_id)
    session.execute(delete(Source).where(Source.id == source.id))
    return Response(status_code=204)


@router.post("/sources/{source_id}/check", response_model=CheckResult, summary="Test a source")
async def check_source(source_id: int, context: ContextDep, _key: AdminKey) -> Any:
    """Makes one cheap authenticated call to the PSA and says whether it worked. Refused
    credentials or settings put the source in `needs_attention` until they are edited. The
    PSA's own words are shown with every credential masked."""
    with context.db.session() as session:
        source = service.get_source(session, source_id)
        session.expunge(source)
    outcome = await service.check_connection(
        source,
        context.cipher,
        reporting_tz=context.settings.tz,
        transport=context.runner.transports(source),
    )
    if outcome.needs_attention:
        with context.db.session() as session:
            service.record_check(session, source_id, outcome)
    return CheckResult(ok=outcome.ok, code=outcome.code, message=outcome.message)


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
            f"The source is {source.status.replace('_', ' ')}: "
            + (
                "edit its settings first."
                if source.status == SourceStatus.NEEDS_ATTENTION
                else "resume it first (PATCH with paused=false)."
            ),
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
