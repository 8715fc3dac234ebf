"""The scope filters that combine: pairs of scopes the KPI store keeps additive sums for.

Declared here once, in one fixed canonical order (the order of `PAIRS`, and within a pair
first then second), for the rollups (`app.kpis.day_sums`), the queries (`app.kpis.scope`,
`app.kpis.compute`), goals and the OData feed. Each pair has its own rows in the pair
rollup tables (`app.kpis.models.KpiDailyPairRollup`), apart from the one-scope rows, so no
query of one scope ever counts a pair.

Source is no pair member: every rollup row is one source's, so `source` narrows any scope
or pair. Priority combines by level (P1–P4); the PSA's own priority names are kept for
priority alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.kpis.catalogue import KpiDefinition, Scope


@dataclass(frozen=True, slots=True)
class ScopePair:
    """Two scopes combined, and the rollup dimensions their pair rows are keyed by."""

    first: Scope
    second: Scope
    first_dim: str
    second_dim: str

    @property
    def name(self) -> str:
        """The pair rows' `pair` column: `client+priority_level`."""
        return f"{self.first_dim}+{self.second_dim}"

    @property
    def words(self) -> str:
        return f"{self.first.value} and {self.second.value}"


PAIRS: tuple[ScopePair, ...] = (
    ScopePair(Scope.CLIENT, Scope.TECHNICIAN, "client", "technician"),
    ScopePair(Scope.CLIENT, Scope.BOARD, "client", "board"),
    ScopePair(Scope.CLIENT, Scope.PRIORITY, "client", "priority_level"),
    ScopePair(Scope.TECHNICIAN, Scope.BOARD, "technician", "board"),
    ScopePair(Scope.TECHNICIAN, Scope.PRIORITY, "technician", "priority_level"),
    ScopePair(Scope.BOARD, Scope.PRIORITY, "board", "priority_level"),
)
PAIR_NAMES = tuple(pair.name for pair in PAIRS)


def pair_of(a: Scope, b: Scope) -> ScopePair | None:
    """The declared pair of two scopes, in either order."""
    for pair in PAIRS:
        if {pair.first, pair.second} == {a, b}:
            return pair
    return None


def pairs_of(kpi: KpiDefinition) -> tuple[ScopePair, ...]:
    """The pairs a KPI can be split by: those whose two scopes it supports each. Only KPIs
    read straight from the additive rollups (counts, SLA, times, CSAT, hours, backlog) are
    scoped by more than source and one other scope, so each of them reads a pair exactly."""
    return tuple(p for p in PAIRS if p.first in kpi.scopes and p.second in kpi.scopes)


def pairs_words(kpi: KpiDefinition) -> str:
    """`client and technician, client and board, ...`, or `none`."""
    return ", ".join(p.words for p in pairs_of(kpi)) or "none"
