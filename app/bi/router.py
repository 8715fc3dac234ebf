"""`GET /metrics` (outside `/api/v1`): Prometheus gauges for Grafana and alerting."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import ContextDep, ReadKey, SessionDep
from app.api.params import DayParam, day_query
from app.bi.metrics import CONTENT_TYPE, collect, render
from app.errors import InvalidInput
from app.goals.config import get_thresholds

router = APIRouter(tags=["bi"])


@router.get(
    "/metrics",
    summary="Prometheus metrics: goals, latest KPI values, sync health",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Exposition text."}},
)
def metrics(
    session: SessionDep,
    context: ContextDep,
    _key: ReadKey,
    as_of: Annotated[
        DayParam, day_query("Evaluate as of this day (default: today, reporting time zone).")
    ] = None,
) -> Response:
    """Gauges in the Prometheus text format (needs a read API key, as a bearer token or in
    `X-API-Key`): each goal's status as a number (0 no data, 1 off track, 2 at risk, 3 on
    track, 4 achieved, 5 missed, 6 not started), progress, expected progress, current value
    and the forecast's chance of meeting it; each KPI company-wide
    over the last complete month; per source the last successful sync, failures in a row,
    PSA requests used by the latest runs and whether it is stale; and per stream the
    seconds since its last check and since its newest change. See docs/bi.md for every
    metric."""
    today = datetime.now(context.settings.tz).date()
    day = today if as_of is None else as_of
    if day > today:
        raise InvalidInput(
            f"as_of ({day}) is in the future; metrics look at today ({today}) or back.",
            code="as_of_in_future",
        )
    settings = context.settings
    families = collect(
        session, day, get_thresholds(), settings.tz, stale_after=settings.stale_after_intervals
    )
    text = render(families)
    return Response(text, media_type=CONTENT_TYPE)
