"""What the overview shows beside the scorecard: the stories recorded for the quarter in
progress and the latest check-ins, each with what it is about."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.goals.models import CheckIn, Goal, Objective, Story
from app.goals.stories import list_stories, quarter_of

LATEST_CHECK_INS = 6


@dataclass(frozen=True)
class RecentCheckIn:
    about: str  # "Goal: Utilisation in band", "Objective: A calmer team"
    href: str
    check_in: CheckIn


@dataclass(frozen=True)
class Recent:
    quarter: str
    stories: list[Story] = field(default_factory=list)
    check_ins: list[RecentCheckIn] = field(default_factory=list)


def recent(session: Session, day: date) -> Recent:
    """The quarter of `day`'s stories (oldest first) and the latest check-ins made on or
    before `day` (newest first)."""
    quarter = quarter_of(day)
    rows = list(
        session.scalars(
            select(CheckIn)
            .where(CheckIn.check_in_date <= day)
            .order_by(CheckIn.check_in_date.desc(), CheckIn.id.desc())
            .limit(LATEST_CHECK_INS)
        )
    )
    found = []
    for row in rows:
        if row.goal_id is not None:
            goal = session.get(Goal, row.goal_id)
            about = f"Goal: {goal.title}" if goal else "A goal"
            found.append(RecentCheckIn(about, f"/goals/{row.goal_id}", row))
        else:
            objective = session.get(Objective, row.objective_id)
            about = f"Objective: {objective.title}" if objective else "An objective"
            found.append(RecentCheckIn(about, f"/#objective-{row.objective_id}", row))
    return Recent(quarter, list_stories(session, quarter=quarter), found)
