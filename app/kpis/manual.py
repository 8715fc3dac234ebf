"""Manual KPIs (KPIS.md §4.5): declared through the API, fed by posted observations."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.facts.models import ObservationRow
from app.kpis.catalogue import ALL_GRAINS, BUILT_IN, Direction, KpiDefinition
from app.kpis.models import ManualKpi


def as_definition(row: ManualKpi) -> KpiDefinition:
    return KpiDefinition(
        key=row.key,
        name=row.name,
        unit=row.unit,
        direction=Direction(row.direction),
        definition=row.description
        or (
            "A manual KPI: the "
            + ("mean of the values" if row.aggregation == "mean" else "last value")
            + " observed in the period."
        ),
        grains=ALL_GRAINS,
        scopes=(),
        category="manual",
        manual=True,
        aggregation=row.aggregation,
    )


def get_kpi(session: Session, key: str) -> KpiDefinition:
    if key in BUILT_IN:
        return BUILT_IN[key]
    row = session.get(ManualKpi, key)
    if row is None:
        raise NotFound(
            f"There is no KPI {key!r}. GET /api/v1/kpis lists them all.", code="kpi_not_found"
        )
    return as_definition(row)


def all_kpis(session: Session) -> list[KpiDefinition]:
    manual = session.scalars(select(ManualKpi).order_by(ManualKpi.key))
    return [*BUILT_IN.values(), *(as_definition(row) for row in manual)]


def declare_manual_kpi(
    session: Session,
    *,
    key: str,
    name: str,
    unit: str,
    direction: Direction,
    aggregation: str,
    description: str | None,
) -> KpiDefinition:
    if key in BUILT_IN or session.get(ManualKpi, key) is not None:
        raise Conflict(f"A KPI called {key!r} already exists.", code="kpi_exists")
    row = ManualKpi(
        key=key,
        name=name,
        unit=unit,
        direction=direction.value,
        aggregation=aggregation,
        description=description,
    )
    session.add(row)
    session.flush()
    return as_definition(row)


def record_observations(
    session: Session, kpi: KpiDefinition, observations: list[tuple[date, float, str | None]]
) -> tuple[int, int]:
    """Upsert on date: (created, updated). Posting the same batch twice changes nothing."""
    existing = {
        row.observed_on: row
        for row in session.scalars(
            select(ObservationRow).where(
                ObservationRow.kpi_key == kpi.key,
                ObservationRow.observed_on.in_([day for day, _, _ in observations]),
            )
        )
    }
    created = updated = 0
    for day, value, note in observations:
        row = existing.get(day)
        if row is None:
            row = existing[day] = ObservationRow(
                kpi_key=kpi.key, observed_on=day, value=value, note=note
            )
            session.add(row)
            created += 1
        elif (row.value, row.note) != (value, note):
            row.value, row.note = value, note
            updated += 1
    session.flush()
    return created, updated


def list_observations(session: Session, kpi: KpiDefinition) -> list[ObservationRow]:
    return list(
        session.scalars(
            select(ObservationRow)
            .where(ObservationRow.kpi_key == kpi.key)
            .order_by(ObservationRow.observed_on)
        )
    )
