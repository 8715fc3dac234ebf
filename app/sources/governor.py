"""How often a source's streams are checked: their own intervals, stretched together when
the PSA's request budget is under pressure, and back to normal when it is not.

Two pressures stretch every interval of a source by one factor (at most `MAX_STRETCH`):
- **A busy tenant.** Autotask's `ThresholdInformation` said the tenant's integrations
  together used more than half its hourly limit: factor 0.5 ÷ (1 − the share used), so
  75 % doubles every interval and 90 % makes them five times longer. Northstar's checks
  then shrink in step with the room the others have left.
- **Steady polling over its share.** What each stream's recent scheduled runs cost, at that
  stream's interval, adds up to more requests an hour than the source's steady share
  (Autotask: 2.5 % of the tenant's limit, 250 of 10,000): factor forecast ÷ share. First
  syncs and full re-reads borrow beyond the share, up to the source's hourly ceiling, and
  are not counted in the forecast (a run's median over several is).

Both read what was measured last (the latest tenant reading, the latest runs), so the
stretch relaxes by itself as soon as a reading or a run shows the pressure gone. A tenant
reading older than `READING_MAX_AGE` no longer stretches anything.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingest.models import RunStatus, SyncRun
from app.sources.budget_ledger import booked_last_hour
from app.sources.models import Source
from app.sources.service import connector_class
from app.sources.tenant_book import latest_tenant_usage
from connectors.sdk import SourceHttpLimits, TenantUsage

MAX_STRETCH = 10.0
TENANT_CALM = 0.5  # the share of the tenant's limit its integrations may use unstretched
READING_MAX_AGE = timedelta(minutes=30)
RECENT_RUNS = 5  # a stream's cost is the median of this many of its latest scheduled runs
SCHEDULED = "schedule"


@dataclass(frozen=True, slots=True)
class Pace:
    """A source's pace now: the factor its intervals are stretched by, and why."""

    stretch: float
    reasons: tuple[str, ...]
    tenant: TenantUsage | None
    used_last_hour: int
    ceiling_per_hour: int | None
    steady_per_hour: int | None
    forecast_per_hour: int | None

    def interval(self, base: timedelta) -> timedelta:
        return base * self.stretch


def source_http_limits(source: Source) -> SourceHttpLimits:
    """The source's HTTP limits from its clear settings (no secret is decrypted)."""
    cls = connector_class(source.kind)
    http_limits = getattr(cls, "http_limits", None)
    if not callable(http_limits):
        return SourceHttpLimits()
    limits = http_limits(cls.config_model.model_construct(**source.config))
    return limits if isinstance(limits, SourceHttpLimits) else SourceHttpLimits()


def tenant_stretch(usage: TenantUsage | None, now: datetime) -> float:
    """The factor a tenant reading calls for (1 when calm, old or unknown)."""
    if usage is None or now - usage.read_at > READING_MAX_AGE:
        return 1.0
    if usage.fraction <= TENANT_CALM:
        return 1.0
    left = 1.0 - usage.fraction
    return MAX_STRETCH if left <= TENANT_CALM / MAX_STRETCH else TENANT_CALM / left


def steady_share(limits: SourceHttpLimits, usage: TenantUsage | None) -> int | None:
    """Requests an hour the source's steady polling may spend."""
    if limits.tenant_share is not None and usage is not None:
        return max(1, round(usage.threshold * limits.tenant_share))
    return limits.steady_requests_per_hour or limits.budget.limit


def polling_forecast(
    session: Session, source_id: int, intervals: Mapping[str, timedelta]
) -> int | None:
    """Requests an hour the streams' recent scheduled runs would cost at `intervals`
    (None: no stream has a scheduled run yet)."""
    total, known = 0.0, False
    for stream, interval in intervals.items():
        costs = list(
            session.scalars(
                select(SyncRun.requests)
                .where(
                    SyncRun.source_id == source_id,
                    SyncRun.stream == stream,
                    SyncRun.trigger == SCHEDULED,
                    SyncRun.status == RunStatus.SUCCEEDED,
                )
                .order_by(SyncRun.id.desc())
                .limit(RECENT_RUNS)
            )
        )
        if costs and interval.total_seconds() > 0:
            known = True
            total += statistics.median(costs) * 3600 / interval.total_seconds()
    return round(total) if known else None


def source_pace(
    session: Session,
    source_id: int,
    limits: SourceHttpLimits,
    intervals: Mapping[str, timedelta],
    now: datetime,
) -> Pace:
    """The pace of source `source_id` whose streams' own intervals are `intervals`."""
    usage = latest_tenant_usage(session, source_id)
    share = steady_share(limits, usage)
    forecast = polling_forecast(session, source_id, intervals)
    reasons = []
    by_tenant = tenant_stretch(usage, now)
    if by_tenant > 1 and usage is not None:
        reasons.append(
            f"the PSA tenant's integrations together used {usage.fraction:.0%} of its "
            f"{usage.threshold:,} requests an hour"
        )
    by_budget = forecast / share if forecast is not None and share else 1.0
    if by_budget > 1:
        reasons.append(
            f"checking every stream at its own interval would cost about {forecast:,} "
            f"requests an hour, more than this source's share of {share:,}"
        )
    stretch = min(MAX_STRETCH, max(1.0, by_tenant, by_budget))
    return Pace(
        stretch=round(stretch, 2),
        reasons=tuple(reasons),
        tenant=usage,
        used_last_hour=booked_last_hour(session, source_id, now=now),
        ceiling_per_hour=limits.budget.limit,
        steady_per_hour=share,
        forecast_per_hour=forecast,
    )
