"""The quarterly review (docs/goals.md §3): each goal's status at the start and end of a
quarter, the KPI change, milestones due in it, the check-ins made, and what changed.

A status on a past day is read from that day's snapshot when there is one, so a review reads
what was known then; otherwise it is computed as of that day from the data held now (and
says so). Goals created after the quarter ended are listed apart as "added later": they did
not exist then, so they are never graded into it, nor into their objectives' roll-ups.

Objectives and goals archived before the quarter started are left out; those archived during
or after it are reviewed (they were in use then) and say when they were archived. The review
opens with the stories recorded for the quarter and lists, per objective, the changes to the
plan: every change made during the quarter (up to its end, or today), and the changes made
before it to the objectives, goals and milestones reviewed (so a target moved in March shows
in the April–June review, marked as made before the quarter). Changes made after the quarter
are not in it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.goals.alignment import RollupChild, Status, Thresholds, roll_up
from app.goals.archive import goal_hidden, hidden_objectives
from app.goals.evaluate import AlignmentEngine
from app.goals.history import change_words, changed_fields, changes_between, kpi_unit
from app.goals.models import AlignmentSnapshot, CheckIn, Goal, Objective, PlanChange, Story
from app.goals.plan_schemas import PlanChangeOut, StoryOut
from app.goals.schemas import CheckInOut
from app.goals.views import (
    AddedLaterOut,
    GoalAlignmentOut,
    ReviewGoalOut,
    ReviewObjectiveOut,
    ReviewOut,
    ReviewPointOut,
    StatusChangeOut,
)
from app.kpis.catalogue import Grain
from app.kpis.periods import Period, parse_period


def parse_quarter(text: str) -> Period:
    """`2025-Q4` → its period; anything else is a 422 that shows the form."""
    try:
        period, grain = parse_period(text)
    except InvalidInput:
        grain = None
    if grain is not Grain.QUARTER:
        raise InvalidInput(
            f"{text!r} is not a quarter. Write it as year-Q1 to year-Q4, e.g. 2025-Q4.",
            code="invalid_quarter",
        )
    return period


def _point(
    day: date, snapshot: AlignmentSnapshot | None, computed: GoalAlignmentOut | None
) -> ReviewPointOut:
    if snapshot is not None:
        status = Status(snapshot.status)
        return ReviewPointOut(
            as_of=day,
            status=status,
            status_words=status.words,
            value=snapshot.current_value,
            progress=snapshot.progress,
            reason=snapshot.reason or "",
            from_snapshot=True,
        )
    assert computed is not None
    return ReviewPointOut(
        as_of=day,
        status=computed.status,
        status_words=computed.status_words,
        value=computed.current_value,
        progress=computed.progress,
        reason=computed.reason,
        from_snapshot=False,
    )


def _changes(snapshots: Sequence[AlignmentSnapshot]) -> list[StatusChangeOut]:
    changes = []
    for before, after in itertools.pairwise(snapshots):
        if before.status != after.status:
            changes.append(
                StatusChangeOut(
                    day=after.day, before=Status(before.status), after=Status(after.status)
                )
            )
    return changes


def build_review(
    session: Session,
    quarter: str,
    *,
    today: date,
    timezone: str,
    tz: tzinfo,
    thresholds: Thresholds,
) -> ReviewOut:
    """The review of `quarter` (e.g. `2025-Q4`). For the quarter in progress, the end is
    today. Raises InvalidInput for a malformed quarter or one that has not started."""
    period = parse_quarter(quarter)
    if period.start > today:
        raise InvalidInput(
            f"{quarter} has not started yet (today is {today}); review a past or the current "
            "quarter.",
            code="quarter_not_started",
        )
    start, end = period.start, min(period.last_day, today)
    opened = datetime.combine(start, time(), tzinfo=tz)
    objectives = list(session.scalars(select(Objective).order_by(Objective.id)))
    # Archived before the quarter: not in use during it.
    hidden = hidden_objectives(objectives, before=opened)
    objectives = [o for o in objectives if o.id not in hidden]
    every_goal = [
        g
        for g in session.scalars(select(Goal).order_by(Goal.id))
        if not goal_hidden(g, hidden, before=opened)
    ]
    goals = [g for g in every_goal if g.created_on(tz) <= end]
    added_later = [g for g in every_goal if g.created_on(tz) > end]
    snapshots: dict[int, list[AlignmentSnapshot]] = defaultdict(list)
    for row in session.scalars(
        select(AlignmentSnapshot)
        .where(AlignmentSnapshot.day >= start, AlignmentSnapshot.day <= end)
        .order_by(AlignmentSnapshot.goal_id, AlignmentSnapshot.day)
    ):
        snapshots[row.goal_id].append(row)
    on_start = {g: next((s for s in rows if s.day == start), None) for g, rows in snapshots.items()}
    on_end = {g: next((s for s in rows if s.day == end), None) for g, rows in snapshots.items()}

    engine = AlignmentEngine(session, thresholds=thresholds, tz=tz)
    # Milestones are judged from the KPI history, so the end is always evaluated; the start
    # only where no snapshot of that day exists.
    at_end = engine.evaluate_goals(goals, end, sparkline=0)
    at_start = engine.evaluate_goals(
        [g for g in goals if on_start.get(g.id) is None], start, sparkline=0
    )
    check_ins = list(
        session.scalars(
            select(CheckIn)
            .where(CheckIn.check_in_date >= start, CheckIn.check_in_date <= end)
            .order_by(CheckIn.check_in_date, CheckIn.id)
        )
    )
    goal_check_ins: dict[int, list[CheckInOut]] = defaultdict(list)
    objective_check_ins: dict[int, list[CheckInOut]] = defaultdict(list)
    for check_in in check_ins:
        if check_in.goal_id is not None:
            goal_check_ins[check_in.goal_id].append(CheckInOut.of(check_in))
        if check_in.objective_id is not None:
            objective_check_ins[check_in.objective_id].append(CheckInOut.of(check_in))

    reviewed: dict[int, list[ReviewGoalOut]] = defaultdict(list)
    for goal in goals:
        first = _point(start, on_start.get(goal.id), at_start.get(goal.id))
        last = _point(end, on_end.get(goal.id), at_end[goal.id])
        change = None
        if first.value is not None and last.value is not None:
            change = round(last.value - first.value, 6)
        reviewed[goal.objective_id].append(
            ReviewGoalOut(
                goal_id=goal.id,
                title=goal.title,
                kpi=at_end[goal.id].kpi,
                kind=at_end[goal.id].kind,
                target=goal.target,
                low=goal.low,
                high=goal.high,
                due_date=goal.due_date,
                start=first,
                end=last,
                kpi_change=change,
                status_changed=first.status != last.status,
                status_changes=_changes(snapshots.get(goal.id, [])),
                milestones=[
                    m for m in at_end[goal.id].milestones if start <= m.due_date <= period.last_day
                ],
                check_ins=goal_check_ins.get(goal.id, []),
                archived_on=_day(goal.archived_at, tz),
            )
        )
    label = quarter.strip().upper()
    stories = session.scalars(
        select(Story).where(Story.quarter == label).order_by(Story.story_date, Story.id)
    )
    reviewed_objectives = _objectives(
        objectives, reviewed, objective_check_ins, {g.id: g.weight for g in goals}
    )
    changes = _plan_changes(session, objectives, goals, opened, end, tz)
    for objective in reviewed_objectives:
        objective.plan_changes = changes.get(objective.id, [])
        objective.archived_on = _day(
            next(o.archived_at for o in objectives if o.id == objective.id), tz
        )
    return ReviewOut(
        quarter=label,
        start=start,
        end=end,
        timezone=timezone,
        stories=[StoryOut.of(s) for s in stories],
        objectives=reviewed_objectives,
        status_changed=[g.goal_id for rows in reviewed.values() for g in rows if g.status_changed],
        added_later=[
            AddedLaterOut(
                goal_id=g.id,
                objective_id=g.objective_id,
                title=g.title,
                created_on=g.created_on(tz),
            )
            for g in added_later
        ],
    )


def _day(moment: datetime | None, tz: tzinfo) -> date | None:
    return None if moment is None else moment.astimezone(tz).date()


def _plan_changes(
    session: Session,
    objectives: Sequence[Objective],
    goals: Sequence[Goal],
    opened: datetime,
    end: date,
    tz: tzinfo,
) -> dict[int, list[PlanChangeOut]]:
    """Per objective id: the changes made from the quarter's start to the end of `end`, and
    the earlier changes (other than writing them down) to what is reviewed."""
    closed = datetime.combine(end + timedelta(days=1), time(), tzinfo=tz)
    reviewed_goals = {g.id for g in goals}
    earlier = [
        c
        for c in session.scalars(
            select(PlanChange)
            .where(PlanChange.changed_at < opened, PlanChange.action != "create")
            .order_by(PlanChange.changed_at, PlanChange.id)
        )
        if (c.entity == "objective" and c.entity_id in {o.id for o in objectives})
        or (c.entity != "objective" and c.goal_id in reviewed_goals)
    ]
    out: dict[int, list[PlanChangeOut]] = defaultdict(list)
    units: dict[int | None, str] = {}
    for change in [*earlier, *changes_between(session, opened, closed)]:
        if change.objective_id is None:
            continue
        if change.goal_id not in units:
            units[change.goal_id] = kpi_unit(session, change)
        words = change_words(change, units[change.goal_id], name_goal=True)
        item = PlanChangeOut.of(change, words, changed_fields(change))
        item.during_quarter = change.changed_at >= opened
        out[change.objective_id].append(item)
    return out


def _objectives(
    objectives: Sequence[Objective],
    reviewed: dict[int, list[ReviewGoalOut]],
    check_ins: dict[int, list[CheckInOut]],
    weights: dict[int, float],
) -> list[ReviewObjectiveOut]:
    """Parents first (depth-first), each with its status at the start and end rolled up
    from everything beneath it."""
    children: dict[int | None, list[Objective]] = defaultdict(list)
    for objective in objectives:
        children[objective.parent_id].append(objective)
    out: list[ReviewObjectiveOut] = []

    def visit(
        objective: Objective, path: list[str], seen: frozenset[int]
    ) -> tuple[RollupChild, RollupChild]:
        index = len(out)
        out.append(
            ReviewObjectiveOut(
                id=objective.id,
                parent_id=objective.parent_id,
                path=[*path, objective.title],
                title=objective.title,
                purpose=objective.purpose,
                owner=objective.owner,
                horizon=objective.horizon,
                win_feels_like=objective.win_feels_like,
                status_start=Status.NO_DATA,
                status_end=Status.NO_DATA,
                goals=reviewed.get(objective.id, []),
                check_ins=check_ins.get(objective.id, []),
            )
        )
        goals = out[index].goals
        starts = [RollupChild(weights[g.goal_id], g.start.progress, g.start.status) for g in goals]
        ends = [RollupChild(weights[g.goal_id], g.end.progress, g.end.status) for g in goals]
        for child in children.get(objective.id, []):
            if child.id in seen:
                continue
            child_start, child_end = visit(child, [*path, objective.title], seen | {child.id})
            starts.append(child_start)
            ends.append(child_end)
        first, last = roll_up(starts), roll_up(ends)
        out[index].status_start, out[index].status_end = first.status, last.status
        weight = objective.weight
        return (
            RollupChild(weight, first.progress, first.status),
            RollupChild(weight, last.progress, last.status),
        )

    for root in children.get(None, []):
        visit(root, [], frozenset({root.id}))
    return out
