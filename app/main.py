"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from app.alerts.router import router as alerts_router
from app.api.auth_gate import install_auth_gate
from app.api.concurrency import install as install_concurrency_limit
from app.api.context import ServiceContext
from app.api.docs_page import install_docs_page
from app.api.errors import install_error_handlers
from app.api.health import router as health_router
from app.api.limits import RequestLimits
from app.api.openapi import install_openapi
from app.api.security_headers import install_security_headers
from app.bi.odata.router import router as odata_router
from app.bi.router import router as bi_router
from app.directory.router import router as directory_router
from app.goals.alignment_router import router as alignment_router
from app.goals.check_in_router import router as check_in_router
from app.goals.plan_router import router as plan_router
from app.goals.router import router as goals_router
from app.ingest.router import router as runs_router
from app.inputs import DATE_WINDOW_WORDS, ID_MAX
from app.kpis.router import router as kpis_router
from app.logging import configure_logging
from app.push.receiver import router as push_router
from app.settings import Settings, get_settings
from app.sources.router import router as sources_router
from app.web.router import router as web_router

API_PREFIX = "/api/v1"

DESCRIPTION = """
Northstar reads your PSA (ConnectWise PSA, Autotask PSA) on a schedule, turns tickets, time,
agreements and surveys into KPIs, and tells you whether your business is on the way to the
goals you set.

Every route except `/api/v1/health` needs an API key, sent as `Authorization: Bearer <key>` or
`X-API-Key: <key>`. Create one with `northstar apikey create --scope read` (or `admin` to
change things). Errors come back as JSON with a stable `code` and a `message` that says
what to fix; each operation lists the ones it can give.

A request body is at most {max_body_bytes:,} bytes and its headers at most
{max_header_bytes:,} bytes (`NORTHSTAR_MAX_BODY_BYTES`, `NORTHSTAR_MAX_HEADER_BYTES`): beyond,
413 or 431. Dates are written YYYY-MM-DD and lie {date_window}; ids are whole numbers
from 1 to {id_max}.
"""


def create_app(
    settings: Settings | None = None,
    *,
    context: ServiceContext | None = None,
    run_scheduler: bool | None = None,
) -> FastAPI:
    """Build the app. The scheduler runs inside it unless disabled in settings or here."""
    settings = settings or (context.settings if context else get_settings())
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    service = context or ServiceContext.build(settings)
    start_scheduler = settings.scheduler_enabled if run_scheduler is None else run_scheduler

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scheduler = service.make_scheduler() if start_scheduler else None
        if scheduler:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler:
                scheduler.shutdown(wait=False)
            service.stop()  # writes the API key uses noted in the last few seconds

    app = FastAPI(
        title="Northstar",
        version="0.1.0",
        description=DESCRIPTION.format(
            max_body_bytes=settings.max_body_bytes,
            max_header_bytes=settings.max_header_bytes,
            date_window=DATE_WINDOW_WORDS,
            id_max=ID_MAX,
        ),
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from local assets: install_docs_page
        redoc_url=None,
    )
    app.state.context = service
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(health_router)
    api.include_router(sources_router)
    api.include_router(runs_router)
    api.include_router(kpis_router)
    api.include_router(directory_router)
    api.include_router(goals_router)
    api.include_router(check_in_router)
    api.include_router(plan_router)
    api.include_router(alignment_router)
    api.include_router(alerts_router)
    api.include_router(push_router)
    app.include_router(api)
    app.include_router(bi_router)
    app.include_router(odata_router)
    app.include_router(web_router)
    install_openapi(app)
    install_docs_page(app, f"{API_PREFIX}/docs")
    # Oversized headers and bodies are refused before any route, or the body, is read.
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    # Outside the body limit: a 100 MB body without a key gets 401 before it is read.
    install_auth_gate(app)
    # Wraps everything that uses the database (the key-first gate too): requests past the
    # limit wait here holding no thread and no connection.
    install_concurrency_limit(app, settings)
    # Outermost: every answer, 401 and 413 included, carries the security headers.
    install_security_headers(app)
    return app
