"""The values a KPI can possibly take (its domain), and the scale its forecast is made on.

A percentage lies within 0–100, a count, a number of hours or an amount of money is never
negative, and a manual KPI lies within the scale it was declared with (`min`/`max`, both
optional). Targets, bands, milestones and observations outside the domain are refused, and
forecasts are computed so that they never leave it (`app.goals.forecast`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.kpis.catalogue import KpiDefinition

# Units whose values are never negative (and have no upper bound).
NON_NEGATIVE_UNITS = frozenset({"count", "hours", "currency", "currency_per_hour"})


@dataclass(frozen=True, slots=True)
class Domain:
    """`[low, high]`, either end open when None."""

    low: float | None = None
    high: float | None = None

    @property
    def bounded(self) -> bool:
        """Bounded on both sides: a percentage or a declared scale."""
        return self.low is not None and self.high is not None

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def clamp(self, value: float) -> float:
        if self.low is not None and value < self.low:
            return self.low
        if self.high is not None and value > self.high:
            return self.high
        return value

    def words(self) -> str:
        """The range as a person reads it: "0 to 100", "0 or more", "any number"."""
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{self.low:g} or more"
        if self.high is not None:
            return f"{self.high:g} or less"
        return "any number"


UNBOUNDED = Domain()


def kpi_domain(kpi: KpiDefinition) -> Domain:
    """The domain of `kpi`: its declared scale (manual KPIs), else by unit."""
    if kpi.manual:
        return Domain(kpi.scale_min, kpi.scale_max)
    if kpi.unit == "percent":
        return Domain(0.0, 100.0)
    if kpi.unit in NON_NEGATIVE_UNITS:
        return Domain(0.0, None)
    return UNBOUNDED
