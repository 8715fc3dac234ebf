"""Manual KPIs (docs/kpis.md §4.5): declared through the API, fed by posted observations.

The limits on the numbers they take (and every other number and date a person types) are
in `app.inputs`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.facts.models import ObservationRow
from app.inputs import date_problem, value_problem
from app.kpis.catalogue import ALL_GRAINS, BUILT_IN, Direction, KpiDefinition
from app.kpis.domain import kpi_domain
from app.kpis.models import ManualKpi


def _refused(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, details=[{"field": field, "problem": message}])


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
        scale_min=row.scale_min,
        scale_max=row.scale_max,
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
    scale_min: float | None = None,
    scale_max: float | None = None,
) -> KpiDefinition:
    """`scale_min`/`scale_max`: the lowest and highest value it can take (either optional)."""
    for end_name, end in (("min", scale_min), ("max", scale_max)):
        problem = None if end is None else value_problem(end)
        if problem:
            raise _refused(
                f"body.{end_name}", f"The scale's `{end_name}`: {problem}", "number_out_of_range"
            )
    if scale_min is not None and scale_max is not None and scale_min >= scale_max:
        raise _refused(
            "body.max",
            f"A scale's `min` must be below its `max`; got min {scale_min:g} and max "
            f"{scale_max:g}. Leave either out for a scale open on that side.",
            "scale_invalid",
        )
    if key in BUILT_IN or session.get(ManualKpi, key) is not None:
        raise Conflict(f"A KPI called {key!r} already exists.", code="kpi_exists")
    row = ManualKpi(
        key=key,
        name=name,
        unit=unit,
        direction=direction.value,
        aggregation=aggregation,
        description=description,
        scale_min=scale_min,
        scale_max=scale_max,
    )
    session.add(row)
    session.flush()
    return as_definition(row)


def check_observations(
    kpi: KpiDefinition, observations: list[tuple[date, float]], *, listed: bool = True
) -> None:
    """Every date lies within Northstar's dates and every value is a usable number within
    the KPI's scale, else a 422 naming the first that is not (by its position, 1 first, and
    date). `listed`: the observations were sent as a list (the field is then
    `body.<index>.value`, else `body.value`)."""
    domain = kpi_domain(kpi)
    for index, (day, value) in enumerate(observations):
        prefix = f"body.{index}" if listed else "body"
        field = f"{prefix}.value"
        which = f"Observation {index + 1} ({day})"
        date_refused = date_problem(day)
        if date_refused:
            raise _refused(f"{prefix}.date", f"{which}: {date_refused}", "date_out_of_range")
        problem = value_problem(value)
        if problem:
            raise _refused(field, f"{which}: {problem}", "number_out_of_range")
        if not domain.contains(value):
            raise _refused(
                field,
                f"{which}: {value:g} is outside {kpi.name}'s scale, {domain.words()}.",
                "outside_kpi_range",
            )


def record_observations(
    session: Session,
    kpi: KpiDefinition,
    observations: list[tuple[date, float, str | None]],
    *,
    by: str | None = None,
) -> tuple[int, int]:
    """Upsert on date: (created, updated). Posting the same batch twice changes nothing.
    Checked first (`check_observations`): one value refused and nothing is stored. `by`
    (who records them) is kept on each value created or changed."""
    check_observations(kpi, [(day, value) for day, value, _ in observations])
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
                kpi_key=kpi.key, observed_on=day, value=value, note=note, recorded_by=by
            )
            session.add(row)
            created += 1
        elif (row.value, row.note) != (value, note):
            row.value, row.note, row.recorded_by = value, note, by
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
