"""Stories: a client's or an employee's story, recorded for a quarter, with who recorded it
(`by`). The quarterly review opens with its quarter's stories.

Problems with what was sent are `InvalidInput` (422) naming the field; a missing story is
`NotFound` (404).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.goals.models import Objective, Story
from app.goals.plan_schemas import QUARTER_WORDS, StoryIn, StoryPatch
from app.goals.reviews import parse_quarter
from app.goals.service import check_date, invalid
from app.inputs import DATE_WINDOW_WORDS, EARLIEST_DATE, LATEST_DATE


def quarter_of(day: date) -> str:
    """2026-05-12 → 2026-Q2."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def normal_quarter(text: str, field: str = "body.quarter") -> str:
    """`text` as a quarter Northstar takes (`2026-q2` → `2026-Q2`), else a 422 on `field`."""
    head = text.strip()[:4]
    if head.isdigit() and not EARLIEST_DATE.year <= int(head) <= LATEST_DATE.year:
        raise invalid(
            field,
            f"The quarter {text.strip()!r} is outside the dates Northstar takes: "
            f"{DATE_WINDOW_WORDS}.",
            "date_out_of_range",
        )
    try:
        period = parse_quarter(text.strip().upper())
    except InvalidInput as exc:
        raise invalid(field, f"{text!r} is not a quarter. {QUARTER_WORDS}", exc.code) from exc
    return quarter_of(period.start)


def get_story(session: Session, story_id: int) -> Story:
    row = session.get(Story, story_id)
    if row is None:
        raise NotFound(
            f"There is no story with id {story_id}. GET /api/v1/stories lists them.",
            code="story_not_found",
        )
    return row


def list_stories(
    session: Session, *, quarter: str | None = None, kind: str | None = None
) -> list[Story]:
    """By date, oldest first; only `quarter`'s (e.g. `2026-Q2`) or `kind`'s when given."""
    query = select(Story).order_by(Story.story_date, Story.id)
    if quarter is not None:
        query = query.where(Story.quarter == normal_quarter(quarter, "query.quarter"))
    if kind is not None:
        query = query.where(Story.kind == kind)
    return list(session.scalars(query))


def _check(session: Session, row: Story) -> None:
    if not row.text.strip():
        raise invalid("body.text", "A story needs its text: what happened, to whom.", "text_empty")
    check_date("body.date", row.story_date)
    if row.objective_id is not None and session.get(Objective, row.objective_id) is None:
        raise invalid(
            "body.objective_id",
            f"There is no objective with id {row.objective_id} for this story to speak to.",
            "objective_not_found",
        )


def create_story(session: Session, body: StoryIn, today: date, *, by: str | None = None) -> Story:
    """Recorded for `body.quarter`, else the quarter of its date (default today)."""
    day = body.date or today
    quarter = normal_quarter(body.quarter) if body.quarter else quarter_of(day)
    row = Story(
        quarter=quarter,
        kind=body.kind.value,
        text=body.text.strip(),
        story_date=day,
        author=by,
        objective_id=body.objective_id,
    )
    _check(session, row)
    session.add(row)
    session.flush()
    return row


def update_story(session: Session, story_id: int, patch: StoryPatch) -> Story:
    """Only the fields sent change; the author stays who recorded it."""
    row = get_story(session, story_id)
    changes = patch.model_dump(exclude_unset=True)
    if "quarter" in changes:
        row.quarter = normal_quarter(changes.pop("quarter"))
    if "date" in changes:
        row.story_date = changes.pop("date")
    if "kind" in changes:
        row.kind = changes.pop("kind").value
    if "text" in changes:
        row.text = changes.pop("text").strip()
    if "objective_id" in changes:
        row.objective_id = changes.pop("objective_id")
    with session.no_autoflush:
        _check(session, row)
    session.flush()
    return row


def delete_story(session: Session, story_id: int) -> None:
    session.delete(get_story(session, story_id))
    session.flush()
