"""How often a source's streams are checked: their own intervals, stretched when the PSA's
request budget is under pressure, and back to normal when it is not.

Two pressures stretch the intervals:
- **A busy tenant.** Autotask's `ThresholdInformation` said the tenant's integrations
  together used more than half its hourly limit: every interval is stretched by
  0.5 ÷ (1 − the share used), so 75 % doubles them and 90 % makes them five times longer
  (at most `MAX_STRETCH`). Northstar's checks shrink in step with the room left.
- **Steady polling over its share.** What each stream's recent scheduled runs cost, at that
  stream's interval, adds up to more requests an hour than the source's steady share
  (Autotask: 2.5 % of the tenant's limit, 250 of 10,000; planned to 90 % of it, the rest
  left for one-off requests no run records). The slow streams (reference data,
  id sweeps) give way first, stretched up to `MAX_SLOW_STRETCH` (hourly becomes daily at
  most); the frequent ones (tickets, time) only when they alone would overspend. First
  syncs and full re-reads borrow beyond the share, up to the source's hourly ceiling: a
  stream's cost is the median of its latest scheduled runs, so one of them does not count.

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
from app.ingest.registry import registry
from app.sources.budget_ledger import booked_last_hour
from app.sources.models import Source
from app.sources.tenant_book import latest_tenant_usage
from connectors.sdk import SourceHttpLimits, TenantUsage

MAX_STRETCH = 10.0
MAX_SLOW_STRETCH = 24.0
TENANT_CALM = 0.5  # the share of the tenant's limit its integrations may use unstretched
READING_MAX_AGE = timedelta(minutes=30)
# Steady polling is planned to this share of its budget: the rest covers requests no run
# records (a sync's one-off setup, such as the tenant's usage reading every 5 minutes).
PLANNED_SHARE = 0.9
RECENT_RUNS = 5  # a stream's cost is the median of this many of its latest scheduled runs
# ...once it has this many: with fewer, its first read (a backfill, by far its costliest run)
# could be the median.
MIN_RUNS = 3
SCHEDULED = "schedule"


@dataclass(frozen=True, slots=True)
class Pace:
    """A source's pace now: the factors its intervals are stretched by, and why."""

    stretch: float  # of the frequent streams' intervals
    slow_stretch: float  # of the slow streams' intervals
    reasons: tuple[str, ...]
    tenant: TenantUsage | None
    used_last_hour: int
    ceiling_per_hour: int | None
    steady_per_hour: int | None
    forecast_per_hour: int | None  # what steady polling would cost at the streams' own pace

    def interval(self, base: timedelta, *, slow: bool) -> timedelta:
        return base * (self.slow_stretch if slow else self.stretch)


CALM = Pace(1.0, 1.0, (), None, 0, None, None, None)


def source_http_limits(source: Source) -> SourceHttpLimits:
    """The source's HTTP limits from its clear settings (no secret is decrypted)."""
    cls = registry.get(source.kind)
    http_limits = getattr(cls, "http_limits", None)
    if cls is None or not callable(http_limits):
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
    (None: no stream has `MIN_RUNS` scheduled runs yet)."""
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
        if len(costs) >= MIN_RUNS and interval.total_seconds() > 0:
            known = True
            total += statistics.median(costs) * 3600 / interval.total_seconds()
    return round(total) if known else None


def source_pace(
    session: Session,
    source_id: int,
    limits: SourceHttpLimits,
    frequent: Mapping[str, timedelta],
    slow: Mapping[str, timedelta],
    now: datetime,
) -> Pace:
    """The pace of source `source_id`, whose frequent and slow streams have these intervals."""
    usage = latest_tenant_usage(session, source_id)
    share = steady_share(limits, usage)
    often = polling_forecast(session, source_id, frequent)
    seldom = polling_forecast(session, source_id, slow)
    reasons = []
    by_tenant = tenant_stretch(usage, now)
    if by_tenant > 1 and usage is not None:
        reasons.append(
            f"the PSA tenant's integrations together used {usage.fraction:.0%} of its "
            f"{usage.threshold:,} requests an hour"
        )
    by_budget = by_budget_slow = 1.0
    forecast = None if often is None and seldom is None else (often or 0) + (seldom or 0)
    planned = share * PLANNED_SHARE if share else None
    if planned and forecast is not None and forecast > planned:
        if (often or 0) >= planned:
            by_budget, by_budget_slow = (often or 0) / planned, MAX_SLOW_STRETCH
        else:
            by_budget_slow = (seldom or 0) / (planned - (often or 0))
        reasons.append(
            f"checking every stream at its own interval would cost about {forecast:,} "
            f"requests an hour; regular checks are planned to {planned:,.0f} of this "
            f"source's share of {share:,}"
        )
    stretch = min(MAX_STRETCH, max(1.0, by_tenant, by_budget))
    return Pace(
        stretch=round(stretch, 2),
        slow_stretch=round(min(MAX_SLOW_STRETCH, max(stretch, by_budget_slow)), 2),
        reasons=tuple(reasons),
        tenant=usage,
        used_last_hour=booked_last_hour(session, source_id, now=now),
        ceiling_per_hour=limits.budget.limit,
        steady_per_hour=share,
        forecast_per_hour=forecast,
    )
