"""The JSON shapes of the KPI API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel, TypeAdapter, model_validator
from pydantic_core import PydanticCustomError

from app.inputs import DATE_WINDOW_WORDS, VALUE_LIMIT, Day
from app.kpis.catalogue import Direction, KpiDefinition
from app.kpis.domain import kpi_domain

NUMBER_RANGE: dict[str, Any] = {"minimum": -VALUE_LIMIT, "maximum": VALUE_LIMIT}


class KpiOut(BaseModel):
    key: str
    name: str
    unit: str
    direction: Direction = Field(description="up: higher is better; down: lower is better.")
    definition: str = Field(description="Exactly how the number is made.")
    grains: list[str]
    scopes: list[str] = Field(description="Filters this KPI can be narrowed by.")
    category: str
    manual: bool
    aggregation: str | None = None
    min: float | None = Field(
        None,
        description="The lowest value this KPI can take (0 for a percentage, a count, hours or "
        "money; a manual KPI's declared scale). null: no lower limit.",
    )
    max: float | None = Field(
        None,
        description="The highest value this KPI can take (100 for a percentage; a manual KPI's "
        "declared scale). null: no upper limit.",
    )

    @classmethod
    def of(cls, kpi: KpiDefinition) -> KpiOut:
        domain = kpi_domain(kpi)
        return cls(
            key=kpi.key,
            name=kpi.name,
            unit=kpi.unit,
            direction=kpi.direction,
            definition=kpi.definition,
            grains=[g.value for g in kpi.grains],
            scopes=[s.value for s in kpi.scopes],
            category=kpi.category,
            manual=kpi.manual,
            aggregation=kpi.aggregation,
            min=domain.low,
            max=domain.high,
        )


PARTIAL_DESCRIPTION = (
    "true when the period is still in progress, or Northstar has not synced the PSA up to "
    "its end yet: the value is the period so far and will still change. false when there "
    "is no value (see `reason`)."
)
REASON_DESCRIPTION = (
    "Why there is no value: `before_history` (the period starts before the first day from "
    "which the PSA's history is held in full), `not_synced` (the PSA has not been synced "
    "that far, or not read in full once yet). Then value, numerator and denominator are "
    "null and sample_size is 0; it is never reported as 0. null when the value stands."
)


class ValueOut(BaseModel):
    period_start: date = Field(description="First day of the period.")
    period_end: date = Field(description="The day after the period's last day.")
    value: float | None = Field(
        description="null when there is nothing to measure (a ratio with no cases), or when "
        "the period is not covered by the data (see `reason`). A count over a covered "
        "period with nothing in it is 0."
    )
    numerator: float | None
    denominator: float | None
    sample_size: int = Field(description="How many tickets, entries, responses or technicians.")
    partial: bool = Field(False, description=PARTIAL_DESCRIPTION)
    reason: Literal["before_history", "not_synced"] | None = Field(
        None, description=REASON_DESCRIPTION
    )


class SourceCoverageOut(BaseModel):
    id: int
    name: str
    history_from: date | None = Field(
        description="The first day from which this PSA's history is held in full (null: "
        "not read in full once yet)."
    )
    synced_until: datetime | None = Field(
        description="Up to when this PSA is synced: the oldest last successful sync of its "
        "streams (UTC; null: a stream has never synced)."
    )


class CoverageOut(BaseModel):
    history_from: date | None = Field(
        description="The first day from which every PSA in scope has its history held in "
        "full (the latest over them). Periods starting earlier have no value "
        "(`before_history`)."
    )
    synced_until: datetime | None = Field(
        description="Up to when every PSA in scope is synced (the earliest over them, UTC). "
        "A period ending later is partial; one starting later has no value (`not_synced`)."
    )
    sources: list[SourceCoverageOut] = Field(description="Each PSA in scope.")


class ScopeOut(BaseModel):
    source: int | None = None
    client: str | None = None
    technician: str | None = None
    board: str | None = None
    priority: str | None = None


class SeriesOut(BaseModel):
    kpi: KpiOut
    grain: str
    timezone: str = Field(description="The reporting time zone the periods are dated in.")
    scope: ScopeOut
    coverage: CoverageOut | None = Field(
        None,
        description="Which days the PSA data behind these values covers. null for a manual "
        "KPI (its values are what was recorded).",
    )
    values: list[ValueOut]


class BreakdownRowOut(BaseModel):
    key: str = Field(
        description="Northstar's id of the client or technician (`linked:<id>` for one linked "
        "across PSAs), the board, or P1–P4."
    )
    name: str
    source: int | None = Field(description="null for a row that spans PSAs.")
    external_id: str | None = Field(description="The PSA's own id.")
    value: float | None
    numerator: float | None
    denominator: float | None
    sample_size: int
    members: list[int] = Field(
        default_factory=list,
        description="For a linked client or technician: the ids of the PSAs' rows it joins.",
    )


class BreakdownOut(BaseModel):
    kpi: KpiOut
    by: str
    period_start: date
    period_end: date
    timezone: str
    partial: bool = Field(False, description=PARTIAL_DESCRIPTION)
    reason: Literal["before_history", "not_synced"] | None = Field(
        None,
        description=REASON_DESCRIPTION.replace("Then value", "Then every row's value"),
    )
    rows: list[BreakdownRowOut]


class ManualKpiIn(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="e.g. team_confidence")
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field("score", min_length=1, max_length=32)
    direction: Direction = Direction.UP
    aggregation: Literal["mean", "last"] = Field(
        "mean", description="How a period's observations become its value."
    )
    description: str | None = Field(None, max_length=2000)
    min: float | None = Field(
        None,
        allow_inf_nan=False,
        json_schema_extra=NUMBER_RANGE,
        description="The lowest value it can take, e.g. 1 for a 1–10 pulse, -100 for NPS. "
        "Leave it out when there is none. Observations and goal targets outside the scale "
        "are refused.",
    )
    max: float | None = Field(
        None,
        allow_inf_nan=False,
        json_schema_extra=NUMBER_RANGE,
        description="The highest value it can take, e.g. 10 for a 1–10 pulse. Leave it out "
        "when there is none; with `min`, it must be above `min`.",
    )


class ObservationIn(BaseModel):
    date: Day = Field(description=f"The day observed: YYYY-MM-DD, {DATE_WINDOW_WORDS}.")
    value: float = Field(
        allow_inf_nan=False,
        json_schema_extra=NUMBER_RANGE,
        description="Within the KPI's scale (`min`/`max`), and ±1,000,000,000,000 at most.",
    )
    note: str | None = Field(None, max_length=2000)


_ONE = TypeAdapter(ObservationIn)
_MANY = TypeAdapter(list[ObservationIn])


class ObservationBatch(RootModel[ObservationIn | list[ObservationIn]]):
    """One observation, or a list of them. Validated as whichever was sent, so a problem is
    named `body.date` (one) or `body.2.date` (the third of a list)."""

    @model_validator(mode="wrap")
    @classmethod
    def _one_or_many(cls, value: Any, _handler: Any) -> Any:
        if isinstance(value, ObservationBatch):
            return value
        if isinstance(value, list):
            return cls.model_construct(root=_MANY.validate_python(value))
        if isinstance(value, dict):
            return cls.model_construct(root=_ONE.validate_python(value))
        raise PydanticCustomError(
            "observations_shape",
            'Send one observation, {"date": "2025-11-30", "value": 7}, or a list of them.',
        )

    @property
    def listed(self) -> bool:
        """True when a list was sent."""
        return isinstance(self.root, list)

    @property
    def items(self) -> list[ObservationIn]:
        return self.root if isinstance(self.root, list) else [self.root]


class ObservationOut(BaseModel):
    date: date
    value: float
    note: str | None
    recorded_by: str | None = Field(
        None, description="Who recorded the value last (a person, or `API key <name>`)."
    )


class ObservationsResult(BaseModel):
    created: int
    updated: int
