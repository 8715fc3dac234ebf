"""The scorecard's batched KPI reads give exactly what `kpi_values` gives, KPI by KPI."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.goals.series import SeriesKey, SeriesReader
from app.kpis.catalogue import CATALOGUE, Grain, Scope
from app.kpis.compute import kpi_values
from app.kpis.periods import periods_between
from app.kpis.scope import resolve_scope

SCOPES: list[dict[str, Any]] = [
    {},
    {"source": 1},
    {"client": "c2", "source": 1},
    {"technician": "t1", "source": 1},
    {"technician": "t2", "source": 1},  # inactive, time in January only
    {"technician": "t3", "source": 1},  # not included in utilisation
    {"board": "Service"},
    {"priority": "P3"},
]
NAMES = {"client": Scope.CLIENT, "technician": Scope.TECHNICIAN, "board": Scope.BOARD}
NAMES["priority"] = Scope.PRIORITY
CASES = [
    (kpi, scope)
    for kpi in CATALOGUE
    for scope in SCOPES
    if all(NAMES[name] in kpi.scopes for name in scope if name != "source")
]


@pytest.mark.parametrize("grain", [Grain.MONTH, Grain.WEEK])
def test_batched_reads_equal_kpi_values(kpi_source: Any, grain: Grain) -> None:
    with kpi_source.setup.context.db.session() as session:
        reader = SeriesReader(session)
        wanted = []
        for kpi, scope in CASES:
            if grain not in kpi.grains:
                continue
            key = SeriesKey(kpi, resolve_scope(session, kpi, **scope), grain)
            # Two goals on the same series with different starts: the union is read.
            reader.want(key, date(2025, 2, 1), date(2025, 4, 1))
            reader.want(key, date(2025, 1, 1), date(2025, 3, 1))
            wanted.append(key)
        reader.fetch()

        for key in wanted:
            periods = periods_between(date(2025, 1, 1), date(2025, 4, 1), grain)
            expected = [v.value for v in kpi_values(session, key.kpi, key.scope, periods)]
            got = [reader.value(key, p) for p in periods]
            assert got == pytest.approx(expected), (key.kpi.key, key.scope)


def test_the_backlog_counts_tickets_opened_before_the_first_period(kpi_source: Any) -> None:
    with kpi_source.setup.context.db.session() as session:
        kpi = next(k for k in CATALOGUE if k.key == "open_backlog")
        key = SeriesKey(kpi, resolve_scope(session, kpi), Grain.MONTH)
        reader = SeriesReader(session)
        reader.want(key, date(2025, 3, 1), date(2025, 4, 1))
        reader.fetch()

        (march,) = periods_between(date(2025, 3, 1), date(2025, 4, 1), Grain.MONTH)
        assert reader.value(key, march) == 1.0  # T2, opened in January, still open
