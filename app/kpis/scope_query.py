"""The scope filters of a KPI series request, as query parameters: `source`, `client`,
`technician`, `board` and `priority`, alone or (for the pairs of `app.kpis.pairs`) two at
once, each with `source` or not: declared once, for the route and for the pages that call
it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from sqlalchemy.orm import Session

from app.api.params import id_query
from app.kpis.catalogue import KpiDefinition
from app.kpis.schemas import ScopeOut
from app.kpis.scope import ScopeFilter, resolve_scope

COMBINED = (
    " Combine it with one other of client, technician, board and priority where the KPI "
    "supports both (GET /api/v1/kpis/{key} lists its scopes; docs/kpis.md the pairs)."
)


@dataclass(frozen=True, slots=True)
class ScopeQuery:
    """The filters as given."""

    source: int | None = None
    client: str | None = None
    technician: str | None = None
    board: str | None = None
    priority: str | None = None

    def resolve(self, session: Session, kpi: KpiDefinition) -> ScopeFilter:
        """The rows to read (a clear 400 or 404 when the KPI cannot take these filters)."""
        return resolve_scope(
            session,
            kpi,
            source=self.source,
            client=self.client,
            technician=self.technician,
            board=self.board,
            priority=self.priority,
        )

    def out(self) -> ScopeOut:
        return ScopeOut(
            source=self.source,
            client=self.client,
            technician=self.technician,
            board=self.board,
            priority=self.priority,
        )


SourceParam = Annotated[int | None, id_query("Only this source (PSA).")]
ClientParam = Annotated[
    str | None,
    Query(
        description="Northstar's client id (GET /api/v1/clients), the PSA's own id together "
        "with `source`, or `linked:<id>` for a client linked across PSAs (its members "
        "pooled)." + COMBINED
    ),
]
TechnicianParam = Annotated[
    str | None,
    Query(
        description="Northstar's technician id (GET /api/v1/technicians), the PSA's own id "
        "together with `source`, or `linked:<id>` for a technician linked across PSAs." + COMBINED
    ),
]
BoardParam = Annotated[
    str | None, Query(description="Board (ConnectWise) or queue (Autotask) name." + COMBINED)
]
PriorityParam = Annotated[
    str | None,
    Query(
        description="P1–P4, or a priority's name (combined with another filter: P1–P4)." + COMBINED
    ),
]
