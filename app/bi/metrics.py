"""Prometheus `/metrics`: goals, the latest KPI values and sync health as gauges.

The text is written in the Prometheus exposition format (version 0.0.4) by hand, so the
service needs no Prometheus library at run time; the tests parse it with the Prometheus
client's own parser.

Contract (documented for users in docs/bi.md):

- `northstar_goal_status{goal_id, goal, kpi}`: the goal's status as a number, see
  `STATUS_VALUES` (0 no data, 1 off track, 2 at risk, 3 on track, 4 achieved, 5 missed,
  6 not started); `northstar_goal_forecast_probability` the forecast's chance of meeting it.
- `northstar_goal_progress`, `northstar_goal_expected_progress` (0-1) and
  `northstar_goal_current_value` (in the KPI's unit), same labels; a goal without a value has
  no sample for it.
- `northstar_kpi_value{kpi, unit}`: each KPI of the catalogue (and each manual KPI) that has
  a monthly grain, company-wide, over the last complete month, rounded to 6 decimals as in
  the REST API; no sample when the month has no value (e.g. an SLA % with no ticket decided).
- `northstar_kpi_period_start_timestamp_seconds`: the start of that month (no labels).
- Per source, labels `source_id, source, kind`:
  `northstar_source_last_success_timestamp_seconds` (the latest stream success),
  `northstar_source_consecutive_failures` (the worst stream),
  `northstar_source_last_run_requests` (PSA requests of each stream's latest run, summed),
  `northstar_source_needs_attention` (1 when the source's credentials or settings were
  refused and it is no longer synced, else 0), `northstar_source_stale` (1 when a stream of
  the active source has not been checked for `stale_after_intervals` of its interval).
- Per stream, labels `source_id, source, kind, stream, cadence` (live, fast, slow):
  `northstar_stream_check_age_seconds` (since its last successful check; no sample before
  the first) and `northstar_stream_newest_change_age_seconds` (since the newest change stamp
  it has read; no sample for streams without change stamps).

Labels never carry timestamps or other values that grow without bound.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NorthstarError
from app.goals.alignment import Status, Thresholds
from app.goals.archive import live_plan
from app.goals.evaluate import AlignmentEngine
from app.goals.shaping import round_value
from app.ingest.freshness import freshness_by_source
from app.ingest.models import SyncCursor, SyncRun
from app.kpis.catalogue import Grain
from app.kpis.compute import kpi_values
from app.kpis.coverage import Coverage, PeriodState
from app.kpis.manual import all_kpis
from app.kpis.periods import last_complete_period
from app.kpis.scope import ScopeFilter
from app.push.view import push_out
from app.sources.models import Source, SourceStatus
from app.sources.pace_view import budget_out

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

STATUS_VALUES: dict[Status, int] = {
    Status.NO_DATA: 0,
    Status.OFF_TRACK: 1,
    Status.AT_RISK: 2,
    Status.ON_TRACK: 3,
    Status.ACHIEVED: 4,
    Status.MISSED: 5,
    Status.NOT_STARTED: 6,
}

SLUG_LENGTH = 60


def slug(text: str) -> str:
    """A short, stable label from a title: lower case, words joined by `_`, at most 60
    characters (`Cut response time (P1)` → `cut_response_time_p1`)."""
    words = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return words[:SLUG_LENGTH].rstrip("_") or "untitled"


@dataclass
class Family:
    """One metric family: a name, its help text and its samples (labels, value)."""

    name: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, labels: dict[str, str], value: float | None) -> None:
        """Add a sample; `None` (no value) and non-finite values are left out."""
        if value is not None and math.isfinite(value):
            self.samples.append((labels, float(value)))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def render(families: Iterable[Family]) -> str:
    """The exposition text of `families` (every family is a gauge), ending with a newline."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} gauge")
        for labels, value in family.samples:
            if labels:
                pairs = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
                lines.append(f"{family.name}{{{pairs}}} {_number(value)}")
            else:
                lines.append(f"{family.name} {_number(value)}")
    return "\n".join(lines) + "\n"


# ---- goals -------------------------------------------------------------------------------


def goal_families(
    session: Session, as_of: date, thresholds: Thresholds, tz: tzinfo
) -> list[Family]:
    """Every goal evaluated as of `as_of` (the period judged, as on the scorecard)."""
    status = Family(
        "northstar_goal_status",
        "Goal status as a number: 0 no data, 1 off track, 2 at risk, 3 on track, 4 achieved, "
        "5 missed (final), 6 not started.",
    )
    progress = Family(
        "northstar_goal_progress", "Goal progress from baseline to target, 0 to 1 (clamped)."
    )
    expected = Family(
        "northstar_goal_expected_progress",
        "Increase/decrease goals: progress the plan expects at the end of the period judged "
        "(straight line or milestones), 0 to 1.",
    )
    chance = Family(
        "northstar_goal_forecast_probability",
        "The forecast's chance (0 to 1) that the goal holds at its due date; no sample when "
        "there is no forecast (fewer than 3 complete periods, or too early).",
    )
    current = Family(
        "northstar_goal_current_value",
        "The goal's KPI over its last complete evaluation window, in the KPI's unit.",
    )
    goals = live_plan(session)[1]  # archived goals are out of the plan and of the metrics
    engine = AlignmentEngine(session, thresholds=thresholds, tz=tz)
    evaluated = engine.evaluate_goals(goals, as_of, sparkline=0)
    for goal in goals:
        out = evaluated[goal.id]
        labels = {"goal_id": str(goal.id), "goal": slug(goal.title), "kpi": goal.kpi_key}
        status.add(labels, STATUS_VALUES[Status(out.status)])
        progress.add(labels, out.progress)
        expected.add(labels, out.expected_progress)
        current.add(labels, out.current_value)
        chance.add(labels, out.forecast.probability if out.forecast else None)
    return [status, progress, expected, current, chance]


# ---- KPIs --------------------------------------------------------------------------------


def kpi_families(session: Session, as_of: date, tz: tzinfo) -> list[Family]:
    """Each KPI with a monthly grain, company-wide, over the last complete month; no sample
    for a month the PSAs' history does not cover in full (before it, or not synced)."""
    month = last_complete_period(as_of, Grain.MONTH)
    covered = Coverage.load(session, tz).for_source(None).state(month, as_of)
    values = Family(
        "northstar_kpi_value",
        "Each KPI company-wide over the last complete month, in its unit (label unit).",
    )
    for kpi in all_kpis(session):
        if Grain.MONTH not in kpi.grains:
            continue
        if not kpi.manual and covered is not PeriodState.COMPLETE:
            values.add({"kpi": kpi.key, "unit": kpi.unit}, None)
            continue
        try:
            (value,) = kpi_values(session, kpi, ScopeFilter(), [month])
        except NorthstarError:
            continue  # a KPI that cannot be read company-wide is left out, not a 500
        values.add({"kpi": kpi.key, "unit": kpi.unit}, round_value(value.value))
    start = Family(
        "northstar_kpi_period_start_timestamp_seconds",
        "Start of the month northstar_kpi_value covers (Unix time, UTC midnight).",
    )
    start.add({}, datetime.combine(month.start, time(), tzinfo=UTC).timestamp())
    return [values, start]


# ---- sync health -------------------------------------------------------------------------


def _timestamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def sync_families(session: Session) -> list[Family]:
    """Per source: last success, consecutive failures, requests of the latest runs."""
    last_success = Family(
        "northstar_source_last_success_timestamp_seconds",
        "When a stream of the source last synced successfully (Unix time).",
    )
    failures = Family(
        "northstar_source_consecutive_failures",
        "Failed sync attempts in a row, for the source's worst stream (0 when healthy).",
    )
    requests = Family(
        "northstar_source_last_run_requests",
        "PSA API requests used by the latest run of each of the source's streams, summed.",
    )
    attention = Family(
        "northstar_source_needs_attention",
        "1 when the PSA refused the source's credentials or settings and it is not synced.",
    )
    cursors: dict[int, list[SyncCursor]] = defaultdict(list)
    for cursor in session.scalars(select(SyncCursor)):
        cursors[cursor.source_id].append(cursor)
    latest = (
        select(SyncRun.source_id, SyncRun.stream, func.max(SyncRun.id).label("run_id"))
        .group_by(SyncRun.source_id, SyncRun.stream)
        .subquery()
    )
    used: dict[int, int] = defaultdict(int)
    for source_id, count in session.execute(
        select(SyncRun.source_id, SyncRun.requests).join(latest, SyncRun.id == latest.c.run_id)
    ):
        used[source_id] += count or 0
    for source in session.scalars(select(Source).order_by(Source.id)):
        labels = {"source_id": str(source.id), "source": source.name, "kind": source.kind}
        rows = cursors.get(source.id, [])
        successes = [t for c in rows if (t := _timestamp(c.last_success_at)) is not None]
        last_success.add(labels, max(successes) if successes else None)
        failures.add(labels, max((c.consecutive_failures or 0 for c in rows), default=0))
        requests.add(labels, used.get(source.id, 0))
        attention.add(labels, 1 if source.status == SourceStatus.NEEDS_ATTENTION else 0)
    return [last_success, failures, requests, attention]


def freshness_families(session: Session, now: datetime, stale_after: int) -> list[Family]:
    """Per stream: seconds since its last check and since its newest change; per source:
    whether it is stale (app.ingest.freshness)."""
    checked = Family(
        "northstar_stream_check_age_seconds",
        "Seconds since the stream was last checked successfully against the PSA.",
    )
    changed = Family(
        "northstar_stream_newest_change_age_seconds",
        "Seconds since the newest change the stream has read (the PSA's change stamp).",
    )
    stale = Family(
        "northstar_source_stale",
        "1 when a stream of the active source has not been checked for "
        f"{stale_after} of its intervals, else 0.",
    )
    sources = list(session.scalars(select(Source).order_by(Source.id)))
    freshness = freshness_by_source(session, sources, now, stale_after)
    for source in sources:
        labels = {"source_id": str(source.id), "source": source.name, "kind": source.kind}
        fresh = freshness[source.id]
        stale.add(labels, 1 if fresh.stale else 0)
        for stream in fresh.streams:
            stream_labels = {**labels, "stream": stream.name, "cadence": stream.cadence.value}
            checked.add(stream_labels, stream.checked_age_seconds)
            changed.add(stream_labels, stream.change_age_seconds)
    return [checked, changed, stale]


def budget_families(session: Session, now: datetime) -> list[Family]:
    """Per source: requests over the last hour, its ceiling and steady share, the stretch of
    its intervals; per PSA tenant reading: the share its integrations had used; per stream:
    the interval it is checked at now (app.sources.governor)."""
    used = Family(
        "northstar_source_requests_last_hour",
        "PSA API requests over the last hour, by every Northstar process.",
    )
    ceiling = Family(
        "northstar_source_request_ceiling_per_hour",
        "The most PSA API requests the source may make in an hour (first syncs included).",
    )
    share = Family(
        "northstar_source_steady_share_per_hour",
        "The PSA API requests an hour the source's regular checks may spend.",
    )
    stretch = Family(
        "northstar_source_interval_stretch",
        "The factor the source's frequent check intervals are stretched by (1: not at all).",
    )
    tenant = Family(
        "northstar_psa_tenant_used_ratio",
        "The share of the PSA tenant's hourly request limit its integrations had used, as "
        "last reported (Autotask's ThresholdInformation).",
    )
    interval = Family(
        "northstar_stream_effective_interval_seconds",
        "How often the stream is checked now, its stretch included.",
    )
    for source in session.scalars(select(Source).order_by(Source.id)):
        labels = {"source_id": str(source.id), "source": source.name, "kind": source.kind}
        budget = budget_out(session, source, now)
        used.add(labels, budget.used_last_hour)
        ceiling.add(labels, budget.ceiling_per_hour)
        share.add(labels, budget.steady_share_per_hour)
        stretch.add(labels, budget.stretch)
        if budget.tenant is not None:
            tenant.add(labels, budget.tenant.used_percent / 100)
        for stream in budget.streams:
            stream_labels = {**labels, "stream": stream.stream, "cadence": stream.cadence}
            interval.add(stream_labels, stream.effective_interval_seconds)
    return [used, ceiling, share, stretch, tenant, interval]


def push_families(session: Session) -> list[Family]:
    """Per source: whether push is registered, and the notices accepted, replayed, refused
    and waiting (app.push)."""
    active = Family(
        "northstar_source_push_active",
        "1 when the PSA tells Northstar about changes as they happen, else 0.",
    )
    counts = {
        name: Family(f"northstar_source_push_{name}_total", words)
        for name, words in (
            ("deliveries", "Change notices accepted from the PSA."),
            ("replays", "Change notices received again and not acted on twice."),
            ("refused", "Change notices refused: wrong token or signature."),
            ("gaps", "Times the PSA changed records without telling Northstar."),
        )
    }
    pending = Family("northstar_source_push_pending", "Announced records not read yet.")
    for source in session.scalars(select(Source).order_by(Source.id)):
        labels = {"source_id": str(source.id), "source": source.name, "kind": source.kind}
        push = push_out(session, source.id)
        active.add(labels, 1 if push.state == "active" else 0)
        for name, family in counts.items():
            family.add(labels, getattr(push, name))
        pending.add(labels, push.pending)
    return [active, *counts.values(), pending]


def collect(
    session: Session,
    as_of: date,
    thresholds: Thresholds,
    tz: tzinfo,
    *,
    stale_after: int = 3,
) -> Sequence[Family]:
    """All families, as of `as_of` (a day in the reporting time zone `tz`); ages are taken
    now, whatever `as_of` says."""
    return [
        *goal_families(session, as_of, thresholds, tz),
        *kpi_families(session, as_of, tz),
        *sync_families(session),
        *freshness_families(session, datetime.now(UTC), stale_after),
        *budget_families(session, datetime.now(UTC)),
        *push_families(session),
    ]
