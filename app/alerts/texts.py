"""The words of each alert: what changed, the alignment's own sentence, the numbers, a link.

Verdict words and reasons are taken from the snapshot as the alignment API gave them; nothing
here judges a goal again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.alerts.messages import Fact, Message
from app.goals.alignment import Status
from app.goals.models import AlignmentSnapshot, Goal, Milestone
from app.goals.review_render import number
from app.kpis.catalogue import BUILT_IN
from app.kpis.models import ManualKpi
from app.settings import Settings
from app.sources.models import Source

NO_LINK_NOTE = "Set NORTHSTAR_PUBLIC_BASE_URL to get a link to the goal's page in each alert."


def goal_link(settings: Settings, goal_id: int) -> str | None:
    """The goal's page, from `public_base_url`; None when it is unset (a chat message
    cannot follow a relative link)."""
    if not settings.public_base_url:
        return None
    return f"{settings.public_base_url.rstrip('/')}/goals/{goal_id}"


def _words(status: str) -> str:
    try:
        return Status(status).words
    except ValueError:
        return status


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _unit(session: Session, goal: Goal) -> str:
    manual = session.get(ManualKpi, goal.kpi_key)
    if manual is not None:
        return manual.unit
    definition = BUILT_IN.get(goal.kpi_key)
    return definition.unit if definition else ""


def _numbers(unit: str, goal: Goal, row: AlignmentSnapshot) -> list[Fact]:
    facts = [Fact(label="Value now", value=number(row.current_value, unit))]
    if goal.target is not None:
        facts.append(Fact(label="Target", value=number(goal.target, unit)))
    if goal.low is not None or goal.high is not None:
        facts.append(
            Fact(label="Band", value=f"{number(goal.low, unit)} to {number(goal.high, unit)}")
        )
    if row.baseline is not None:
        facts.append(Fact(label="Baseline", value=number(row.baseline, unit)))
    if row.progress is not None:
        facts.append(Fact(label="Progress", value=_percent(row.progress)))
    if row.expected_progress is not None:
        facts.append(Fact(label="Expected by now", value=_percent(row.expected_progress)))
    forecast = row.forecast or {}
    if "projected_value" in forecast:
        facts.append(
            Fact(label="Forecast at due date", value=number(forecast["projected_value"], unit))
        )
    facts.append(Fact(label="Due", value=goal.due_date.isoformat()))
    facts.append(Fact(label="As of", value=row.day.isoformat()))
    return facts


def goal_message(
    session: Session,
    settings: Settings,
    goal: Goal,
    event: str,
    before: AlignmentSnapshot,
    now: AlignmentSnapshot,
    detail: dict[str, Any],
) -> Message:
    unit = _unit(session, goal)
    explanation = now.reason
    if event == "status_change":
        title = f"{goal.title}: {_words(now.status)}"
        summary = f"{goal.title} went from {_words(before.status)} to {_words(now.status)}."
    elif event == "milestone":
        milestone = detail["milestone"]
        name = milestone.get("title") or f"the milestone due {milestone['due_date']}"
        outcome = "was hit" if milestone["status"] == "hit" else "was missed"
        title = f"{goal.title}: milestone {milestone['status']}"
        summary = (
            f"{name} of {goal.title} {outcome} "
            f"(value {number(milestone.get('value'), unit)}, "
            f"target {number(milestone.get('target'), unit)})."
        )
    else:
        title = f"{goal.title}: will not make it"
        summary = f"The forecast for {goal.title} now says it will not reach its target in time."
        explanation = (now.forecast or {}).get("explanation") or now.reason
    link = goal_link(settings, goal.id)
    return Message(
        kind=event,
        title=title,
        summary=summary if link else f"{summary} {NO_LINK_NOTE}",
        explanation=explanation,
        facts=_numbers(unit, goal, now),
        link=link,
        goal_id=goal.id,
        data={"from": before.status, "to": now.status, "day": now.day.isoformat(), **detail},
    )


def source_message(
    settings: Settings,
    source: Source,
    last_success: datetime | None,
    hours: int,
    *,
    failing: bool,
    now: datetime,
) -> Message:
    since = (
        last_success.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if last_success else "never"
    )
    if failing:
        summary = f"{source.name} stopped syncing: {source.status_message or source.status}."
    else:
        summary = f"{source.name} has not synced for more than {hours} hours."
    return Message(
        kind="source_stale",
        title=f"{source.name}: data is not up to date",
        summary=summary,
        explanation="Goals that read its KPIs are judged on older numbers until it syncs again.",
        facts=[
            Fact(label="Last successful sync", value=since),
            Fact(label="Status", value=source.status),
            Fact(label="Checked", value=now.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")),
        ],
        data={"source_id": source.id, "status": source.status},
    )


def quiet_kpi_message(
    settings: Settings,
    goal: Goal,
    kpi_name: str,
    last: date | None,
    weeks: int,
    milestone: Milestone | None,
) -> Message:
    seen = last.isoformat() if last else "never"
    facts = [Fact(label="Last value entered", value=seen), Fact(label="KPI", value=kpi_name)]
    if milestone is not None:
        facts.append(Fact(label="Next milestone", value=milestone.due_date.isoformat()))
    link = goal_link(settings, goal.id)
    summary = f"Nobody has entered {kpi_name} for {goal.title} in {weeks} weeks or more."
    return Message(
        kind="manual_quiet",
        title=f"{goal.title}: no new value in {weeks} weeks",
        summary=summary if link else f"{summary} {NO_LINK_NOTE}",
        explanation=f"Until this week's {kpi_name} is recorded, the goal is judged on the "
        f"last value entered ({seen}).",
        facts=facts,
        link=link,
        goal_id=goal.id,
        data={"last_observed_on": last.isoformat() if last else None},
    )
