"""The JSON shapes of stories (a client's or employee's story told for a quarter) and of the
plan's history (one change to an objective, goal or milestone)."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from app.goals.models import PlanChange, Story, StoryKind
from app.goals.schemas import DATE_WORDS, refuse_null
from app.inputs import Day, Id

QUARTER_WORDS = "Write it as year-Q1 to year-Q4, e.g. 2026-Q2."


class StoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: StoryKind = Field(description="`client` or `employee`: whose story it is.")
    text: str = Field(
        min_length=1,
        max_length=8000,
        description="The story as it was told: what happened, to whom, what it meant.",
        examples=["Acme's CFO called to say the new onboarding was the smoothest they'd had."],
    )
    date: Day | None = Field(
        None, description=f"When it happened or was told. Default: today. {DATE_WORDS}"
    )
    quarter: str | None = Field(
        None,
        description=f"The quarter it is recorded for. Default: the quarter of `date`. "
        f"{QUARTER_WORDS}",
        examples=["2026-Q2"],
    )
    objective_id: Id | None = Field(None, description="The objective it speaks to, if any.")


class StoryPatch(BaseModel):
    """Only the fields sent change; `objective_id: null` unlinks it."""

    model_config = ConfigDict(extra="forbid")

    kind: StoryKind | SkipJsonSchema[None] = None
    text: str | SkipJsonSchema[None] = Field(None, min_length=1, max_length=8000)
    date: Day | SkipJsonSchema[None] = Field(None, description=DATE_WORDS)
    quarter: str | SkipJsonSchema[None] = Field(None, description=QUARTER_WORDS)
    objective_id: Id | None = None

    @field_validator("kind", "text", "date", "quarter", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        return refuse_null(value, info.field_name)


class StoryOut(BaseModel):
    id: int
    quarter: str
    kind: StoryKind
    text: str
    date: dt.date
    author: str | None = Field(description="Who recorded it.")
    objective_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Story) -> StoryOut:
        return cls(
            id=row.id,
            quarter=row.quarter,
            kind=StoryKind(row.kind),
            text=row.text,
            date=row.story_date,
            author=row.author,
            objective_id=row.objective_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class PlanChangeOut(BaseModel):
    id: int
    entity: str = Field(description="objective, goal or milestone.")
    entity_id: int
    goal_id: int | None = Field(description="The goal it belonged to (goals and milestones).")
    objective_id: int | None = Field(description="The objective it belonged to then.")
    action: str = Field(description="create, update, archive, restore or delete.")
    by: str | None = Field(description="Who made the change (a person, or `API key <name>`).")
    at: datetime = Field(description="When.")
    changed: list[str] = Field(description="The fields an update changed.")
    before: dict[str, Any] | None = Field(description="The fields before (null: created).")
    after: dict[str, Any] | None = Field(description="The fields after (null: deleted).")
    words: str = Field(description="The change in words, e.g. `target 95 % → 97 %`.")
    during_quarter: bool | None = Field(
        None,
        description="In a review: true when made during the quarter, false when made before "
        "it (and still in force).",
    )

    @classmethod
    def of(cls, row: PlanChange, words: str, changed: list[str]) -> PlanChangeOut:
        return cls(
            id=row.id,
            entity=row.entity,
            entity_id=row.entity_id,
            goal_id=row.goal_id,
            objective_id=row.objective_id,
            action=row.action,
            by=row.changed_by,
            at=row.changed_at,
            changed=changed,
            before=row.before,
            after=row.after,
            words=words,
        )
