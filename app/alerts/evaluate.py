"""Turning what Northstar recorded into alert events, once each (docs/alerts.md, "Rules").

Goal events are read from the daily alignment snapshots, never from a verdict computed now:
a status that changes back and forth within a day is seen as the one snapshot of that day,
so it sends at most once. A day's snapshot is compared with the goal's previous one. Each
event has a `dedupe_key` (rule, goal, what, day), so evaluating again writes nothing new, and
a rule's quiet period holds back a second event about the same goal or source. An event and
its delivery are added to the same session, so they are committed together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.alerts.models import AlertChannel, AlertEvent, AlertRule
from app.alerts.outbox import enqueue
from app.alerts.texts import goal_message, quiet_kpi_message, source_message
from app.facts.models import ObservationRow
from app.goals.archive import live_goal_ids
from app.goals.models import AlignmentSnapshot, Goal, Milestone, Objective
from app.ingest.models import SyncCursor
from app.kpis.models import ManualKpi
from app.settings import Settings
from app.sources.models import Source, SourceStatus

SNAPSHOT_EVENTS = ("status_change", "milestone", "forecast_miss")
MAX_CATCH_UP_DAYS = 31


def goals_in_scope(session: Session, rule: AlertRule) -> list[Goal]:
    """The rule's goal, its objective's goals and those of every objective below it, or all;
    archived goals (or under an archived objective) left out, as the snapshots leave them."""
    live = live_goal_ids(session)
    if rule.goal_id is not None:
        goal = session.get(Goal, rule.goal_id)
        return [goal] if goal is not None and goal.id in live else []
    query = select(Goal).order_by(Goal.id)
    if rule.objective_id is not None:
        children: dict[int | None, list[int]] = {}
        for objective_id, parent_id in session.execute(select(Objective.id, Objective.parent_id)):
            children.setdefault(parent_id, []).append(objective_id)
        wanted, stack = set(), [rule.objective_id]
        while stack:
            current = stack.pop()
            if current not in wanted:
                wanted.add(current)
                stack.extend(children.get(current, []))
        query = query.where(Goal.objective_id.in_(wanted))
    return [goal for goal in session.scalars(query) if goal.id in live]


def day_end(day: date, tz: tzinfo) -> datetime:
    """When `day` closed in the reporting time zone: what a snapshot event is dated."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)


def _previous(session: Session, goal_id: int, day: date) -> AlignmentSnapshot | None:
    return session.scalar(
        select(AlignmentSnapshot)
        .where(AlignmentSnapshot.goal_id == goal_id, AlignmentSnapshot.day < day)
        .order_by(AlignmentSnapshot.day.desc())
        .limit(1)
    )


def _milestones(row: AlignmentSnapshot) -> dict[int, dict[str, Any]]:
    return {int(m["id"]): m for m in (row.detail or {}).get("milestones", []) if "id" in m}


def snapshot_changes(
    rule: AlertRule, before: AlignmentSnapshot, now: AlignmentSnapshot
) -> Iterable[tuple[str, dict[str, Any]]]:
    """(what, detail) for each change between two snapshots of a goal that `rule` wants."""
    options = rule.options or {}
    if rule.event == "status_change" and before.status != now.status:
        wanted_from, wanted_to = (
            options.get("from_statuses") or [],
            options.get("to_statuses") or [],
        )
        if (not wanted_from or before.status in wanted_from) and (
            not wanted_to or now.status in wanted_to
        ):
            yield f"status:{now.status}", {"from": before.status, "to": now.status}
    elif rule.event == "milestone":
        outcomes = options.get("outcomes") or ["hit", "missed"]
        earlier = _milestones(before)
        for milestone_id, milestone in _milestones(now).items():
            was = earlier.get(milestone_id, {}).get("status")
            if milestone["status"] in outcomes and was != milestone["status"]:
                yield f"milestone:{milestone_id}:{milestone['status']}", {"milestone": milestone}
    elif rule.event == "forecast_miss":
        was_making_it = bool((before.forecast or {}).get("meets_target", True))
        if now.forecast and not now.forecast.get("meets_target", True) and was_making_it:
            yield "forecast_miss", {"forecast": now.forecast}


def _quiet(session: Session, rule: AlertRule, subject: str, at: datetime) -> bool:
    """Whether an event of this rule about `subject` happened within its quiet period."""
    if rule.quiet_hours <= 0:
        return False
    latest = session.scalar(
        select(func.max(AlertEvent.occurred_at)).where(
            AlertEvent.rule_id == rule.id, AlertEvent.subject == subject
        )
    )
    if latest is None:
        return False
    return abs((at - latest).total_seconds()) < rule.quiet_hours * 3600


def _add_event(
    session: Session,
    rule: AlertRule,
    channel: AlertChannel,
    *,
    kind: str,
    key: str,
    subject: str,
    at: datetime,
    message: Any,
    goal_id: int | None = None,
) -> AlertEvent | None:
    if session.scalar(select(AlertEvent.id).where(AlertEvent.dedupe_key == key)) is not None:
        return None
    if _quiet(session, rule, subject, at):
        return None
    event = AlertEvent(
        rule_id=rule.id,
        kind=kind,
        dedupe_key=key,
        goal_id=goal_id,
        subject=subject,
        occurred_at=at,
        message=message.model_dump(mode="json"),
    )
    session.add(event)
    session.flush()
    enqueue(
        session,
        channel,
        message,
        purpose="event",
        key=f"ns-evt-{event.id}-ch-{channel.id}",
        event=event,
        now=at,
    )
    session.flush()
    return event


def _snapshot_events(
    session: Session, settings: Settings, rule: AlertRule, channel: AlertChannel, through: date
) -> list[AlertEvent]:
    first = (rule.evaluated_through + timedelta(days=1)) if rule.evaluated_through else through
    first = max(first, through - timedelta(days=MAX_CATCH_UP_DAYS))
    events: list[AlertEvent] = []
    goals = goals_in_scope(session, rule)
    day = first
    while day <= through:
        for goal in goals:
            now = session.scalar(
                select(AlignmentSnapshot).where(
                    AlignmentSnapshot.goal_id == goal.id, AlignmentSnapshot.day == day
                )
            )
            before = _previous(session, goal.id, day) if now else None
            if now is None or before is None:
                continue
            for what, detail in snapshot_changes(rule, before, now):
                message = goal_message(session, settings, goal, rule.event, before, now, detail)
                event = _add_event(
                    session,
                    rule,
                    channel,
                    kind=rule.event,
                    key=f"rule:{rule.id}:goal:{goal.id}:{what}:{day.isoformat()}",
                    # Quiet per kind of change: a goal at risk yesterday that is off track
                    # today is still said; at risk again tomorrow is held back.
                    subject=f"goal:{goal.id}:{what}",
                    at=day_end(day, settings.tz),
                    message=message,
                    goal_id=goal.id,
                )
                if event:
                    events.append(event)
        day += timedelta(days=1)
    rule.evaluated_through = max(through, rule.evaluated_through or through)
    return events


def _last_success(session: Session, source_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(SyncCursor.last_success_at)).where(SyncCursor.source_id == source_id)
    )


def _source_events(
    session: Session, settings: Settings, rule: AlertRule, channel: AlertChannel, now: datetime
) -> list[AlertEvent]:
    hours = int((rule.options or {}).get("hours", 24))
    query = select(Source).order_by(Source.id)
    if rule.source_id is not None:
        query = query.where(Source.id == rule.source_id)
    events = []
    for source in session.scalars(query):
        if source.status == SourceStatus.PAUSED:
            continue
        last = _last_success(session, source.id)
        failing = source.status == SourceStatus.NEEDS_ATTENTION
        stale = (last or source.created_at) < now - timedelta(hours=hours)
        if not (failing or stale):
            continue
        since = last.isoformat() if last else "never"
        message = source_message(settings, source, last, hours, failing=failing, now=now)
        event = _add_event(
            session,
            rule,
            channel,
            kind=rule.event,
            key=f"rule:{rule.id}:source:{source.id}:{'failing' if failing else 'stale'}:{since}",
            subject=f"source:{source.id}",
            at=now,
            message=message,
        )
        if event:
            events.append(event)
    return events


def _quiet_kpi_events(
    session: Session, settings: Settings, rule: AlertRule, channel: AlertChannel, now: datetime
) -> list[AlertEvent]:
    weeks = int((rule.options or {}).get("weeks", 2))
    today = now.astimezone(settings.tz).date()
    manual = {key: name for key, name in session.execute(select(ManualKpi.key, ManualKpi.name))}
    events = []
    for goal in goals_in_scope(session, rule):
        if goal.kpi_key not in manual or goal.due_date < today or goal.start_date > today:
            continue
        last = session.scalar(
            select(func.max(ObservationRow.observed_on)).where(
                ObservationRow.kpi_key == goal.kpi_key
            )
        )
        if last is not None and last > today - timedelta(weeks=weeks):
            continue
        milestone = session.scalar(
            select(Milestone)
            .where(Milestone.goal_id == goal.id, Milestone.due_date >= today)
            .order_by(Milestone.due_date)
            .limit(1)
        )
        message = quiet_kpi_message(settings, goal, manual[goal.kpi_key], last, weeks, milestone)
        event = _add_event(
            session,
            rule,
            channel,
            kind=rule.event,
            key=f"rule:{rule.id}:goal:{goal.id}:quiet:{last.isoformat() if last else 'never'}",
            subject=f"goal:{goal.id}",
            at=now,
            message=message,
            goal_id=goal.id,
        )
        if event:
            events.append(event)
    return events


def evaluate_rules(
    session: Session, settings: Settings, *, through: date, now: datetime
) -> list[AlertEvent]:
    """Every enabled rule's new events: snapshot events up to the day `through` (the last
    one snapshotted), source and manual-KPI checks as of `now`."""
    events: list[AlertEvent] = []
    rules = session.scalars(
        select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
    )
    for rule in list(rules):
        channel = session.get(AlertChannel, rule.channel_id)
        if channel is None or not channel.enabled:
            continue
        if rule.event in SNAPSHOT_EVENTS:
            events += _snapshot_events(session, settings, rule, channel, through)
        elif rule.event == "source_stale":
            events += _source_events(session, settings, rule, channel, now)
        elif rule.event == "manual_quiet":
            events += _quiet_kpi_events(session, settings, rule, channel, now)
    return events
