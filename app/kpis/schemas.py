"""The JSON shapes of the KPI API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.kpis.catalogue import Direction, KpiDefinition


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

    @classmethod
    def of(cls, kpi: KpiDefinition) -> KpiOut:
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
        )


class ValueOut(BaseModel):
    period_start: date = Field(description="First day of the period.")
    period_end: date = Field(description="The day after the period's last day.")
    value: float | None = Field(description="null when there is nothing to measure.")
    numerator: float | None
    denominator: float | None
    sample_size: int = Field(description="How many tickets, entries, responses or technicians.")


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
    values: list[ValueOut]


class BreakdownRowOut(BaseModel):
    key: str = Field(description="Northstar's id of the client or technician, the board, or P1–P4.")
    name: str
    source: int | None
    external_id: str | None = Field(description="The PSA's own id.")
    value: float | None
    numerator: float | None
    denominator: float | None
    sample_size: int


class BreakdownOut(BaseModel):
    kpi: KpiOut
    by: str
    period_start: date
    period_end: date
    timezone: str
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


class ObservationIn(BaseModel):
    date: date
    value: float = Field(allow_inf_nan=False)
    note: str | None = Field(None, max_length=2000)


class ObservationOut(BaseModel):
    date: date
    value: float
    note: str | None


class ObservationsResult(BaseModel):
    created: int
    updated: int
