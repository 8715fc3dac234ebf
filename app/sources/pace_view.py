"""A source's request budget and pace as the API and `/metrics` show them: what it spent
over the last hour, what it may spend, what its PSA tenant reported, and how often each
stream is checked now (`app.sources.governor`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.ingest.registry import registry
from app.ingest.selection import stream_intervals
from app.sources.governor import Pace, source_http_limits, source_pace
from app.sources.models import Source
from connectors.sdk import StreamSpec, SyncInterval


class TenantUsageOut(BaseModel):
    threshold: int = Field(description="Requests per hour the PSA allows the whole tenant.")
    used: int = Field(description="Requests the tenant's integrations had used together.")
    used_percent: float = Field(description="`used` as a percentage of `threshold`.")
    read_at: datetime = Field(description="When the PSA reported it (UTC).")
    limited_until: datetime | None = Field(
        description="The PSA refused requests for the tenant's limit until this moment (UTC); "
        "null when it did not."
    )


class StreamPaceOut(BaseModel):
    stream: str
    cadence: str = Field(description="`live`, `fast` or `slow`.")
    interval_seconds: int = Field(description="How often the stream is checked normally.")
    effective_interval_seconds: int = Field(
        description="How often it is checked now: longer while the budget is under pressure."
    )


class BudgetOut(BaseModel):
    """What this source may ask of its PSA, and how hard Northstar is pacing itself."""

    used_last_hour: int = Field(
        description="Requests over the last hour, by every Northstar process."
    )
    ceiling_per_hour: int | None = Field(
        description="The most it may make in an hour, a first sync or full re-read included "
        "(Autotask: `config.requests_per_hour`)."
    )
    steady_share_per_hour: int | None = Field(
        description="What regular checks may spend an hour (Autotask: "
        "`config.tenant_share_percent` of the tenant's limit, 250 of 10,000 by default)."
    )
    forecast_per_hour: int | None = Field(
        description="What checking every stream at its normal interval would cost an hour, "
        "from its recent scheduled runs; null until a stream has had three of them."
    )
    tenant: TenantUsageOut | None = Field(
        description="The PSA tenant's usage as last reported (Autotask's ThresholdInformation, "
        "read at most every 5 minutes); null when the PSA has no such report."
    )
    stretch: float = Field(
        description="The factor tickets', time's and other frequent checks' intervals are "
        "stretched by now (1: not at all)."
    )
    slow_stretch: float = Field(
        description="The same for slow data (reference data, the sweeps for deleted records)."
    )
    reasons: list[str] = Field(description="Why the intervals are stretched, in words.")
    streams: list[StreamPaceOut]


def connector_streams(source: Source) -> list[StreamSpec]:
    cls = registry.get(source.kind)
    return list(cls.streams.values()) if cls is not None else []


def current_pace(session: Session, source: Source, now: datetime) -> tuple[Pace, list[StreamSpec]]:
    """The source's pace now, and its connector's streams (none when it is not installed)."""
    specs = connector_streams(source)
    frequent, slow = stream_intervals(source, specs)
    limits = source_http_limits(source)
    return source_pace(session, source.id, limits, frequent, slow, now), specs


def budget_out(
    session: Session, source: Source, now: datetime, pace: Pace | None = None
) -> BudgetOut:
    """The source's budget as shown; `pace`: its pace when the caller worked it out already."""
    pace = pace or current_pace(session, source, now)[0]
    specs = connector_streams(source)
    tenant = pace.tenant
    return BudgetOut(
        used_last_hour=pace.used_last_hour,
        ceiling_per_hour=pace.ceiling_per_hour,
        steady_share_per_hour=pace.steady_per_hour,
        forecast_per_hour=pace.forecast_per_hour,
        tenant=None
        if tenant is None
        else TenantUsageOut(
            threshold=tenant.threshold,
            used=tenant.used,
            used_percent=round(100 * tenant.used / tenant.threshold, 1),
            read_at=tenant.read_at,
            limited_until=tenant.limited_until,
        ),
        stretch=pace.stretch,
        slow_stretch=pace.slow_stretch,
        reasons=list(pace.reasons),
        streams=[
            StreamPaceOut(
                stream=spec.name,
                cadence=spec.interval.value,
                interval_seconds=source.interval_seconds(spec.interval),
                effective_interval_seconds=round(
                    pace.interval(
                        timedelta(seconds=source.interval_seconds(spec.interval)),
                        slow=spec.interval is SyncInterval.SLOW,
                    ).total_seconds()
                ),
            )
            for spec in specs
        ],
    )
