"""Turning the API's scope filters into the rollup dimension (or pair of them) to read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.directory.models import EntityLink, LinkedEntity
from app.errors import NotFound, Unsupported
from app.facts.models import ClientRow, TechnicianRow
from app.inputs import ID_MAX
from app.kpis.catalogue import KpiDefinition, Scope
from app.kpis.pairs import ScopePair, pair_of, pairs_of, pairs_words
from app.sources.models import Source

LEVELS = {"P1": "1", "P2": "2", "P3": "3", "P4": "4"}
# `client=linked:7`: the linked entity 7 (app.directory), all its members' rows pooled.
LINKED_PREFIX = "linked:"
# The scope dimension of a linked entity of each kind; its rows are those of the plain
# dimension (`link:client` reads `client` rows), of the members only.
LINKED_DIMS = {"client": "link:client", "technician": "link:technician"}
# KPIs a linked technician cannot pool exactly: each PSA holds its own capacity for the same
# person, so summing capacities would count the person's working week twice.
NOT_POOLED_FOR_TECHNICIANS = {
    "utilization_pct",
    "billable_utilization_pct",
    "tickets_closed_per_technician",
}


@dataclass(frozen=True, slots=True)
class ScopeFilter:
    """Rows of `dim` = `value`, of one source or all. `dim` is `all` when unscoped.

    A linked entity is `dim` `link:client` (or `link:technician`) with `value` its id: the
    rows of `client` (`technician`) whose (source, value) is one of its members, summed.

    Scoped by a pair (`app.kpis.pairs`), `dim` and `value` are its first scope and
    `second_dim`, `second_value` its second (either may be a linked entity), read from the
    pair rollups.
    """

    dim: str = "all"
    value: str = ""
    source_id: int | None = None
    technician_id: int | None = None  # canonical id, for utilisation by technician
    client_id: int | None = None
    second_dim: str | None = None
    second_value: str = ""

    @property
    def scope(self) -> Scope | None:
        return {
            "client": Scope.CLIENT,
            "technician": Scope.TECHNICIAN,
            "board": Scope.BOARD,
            "priority": Scope.PRIORITY,
            "priority_level": Scope.PRIORITY,
            "link:client": Scope.CLIENT,
            "link:technician": Scope.TECHNICIAN,
        }.get(self.dim)

    @property
    def linked_id(self) -> int | None:
        """The linked entity's id when the scope is one, else None."""
        return int(self.value) if self.dim.startswith("link:") else None

    @property
    def rollup_dim(self) -> str:
        """The dimension of the rollup rows this scope reads."""
        return self.dim.removeprefix("link:")

    @property
    def pair_name(self) -> str | None:
        """The pair rows' `pair` (`client+priority_level`) when scoped by a pair."""
        if self.second_dim is None:
            return None
        return f"{self.rollup_dim}+{self.second_dim.removeprefix('link:')}"

    @property
    def parts(self) -> tuple[tuple[str, str], ...]:
        """(dim, value) of each scope filtered on: one, or the pair's two."""
        if self.second_dim is None:
            return ((self.dim, self.value),)
        return ((self.dim, self.value), (self.second_dim, self.second_value))


def member_keys_of(dim: str, linked_id: int) -> Select[Any]:
    """(source id, PSA id) of every member of a linked client (`dim` `client`) or technician,
    as a subquery."""
    row_class: Any = ClientRow if dim == "client" else TechnicianRow
    column = EntityLink.client_id if row_class is ClientRow else EntityLink.technician_id
    return (
        select(row_class.source_id, row_class.external_id)
        .join(EntityLink, column == row_class.id)
        .where(EntityLink.linked_entity_id == linked_id)
    )


def member_keys(scope: ScopeFilter) -> Select[Any]:
    """(source id, PSA id) of every member of the scope's linked entity, as a subquery."""
    assert scope.linked_id is not None
    return member_keys_of(scope.rollup_dim, scope.linked_id)


def _unsupported(kpi: KpiDefinition, scope: Scope) -> Unsupported:
    supported = ", ".join(s.value for s in kpi.scopes) or "none (company-wide only)"
    return Unsupported(
        f"{kpi.name} ({kpi.key}) cannot be scoped by {scope.value}. It supports: {supported}.",
        code="scope_not_supported",
    )


def resolve_scope(
    session: Session,
    kpi: KpiDefinition,
    *,
    source: int | None = None,
    client: str | None = None,
    technician: str | None = None,
    board: str | None = None,
    priority: str | None = None,
) -> ScopeFilter:
    """The rows to read for the filters given: none (the company), one scope, or a pair of
    scopes the KPI can be split by (`app.kpis.pairs`), with `source` or not. Anything else
    is a 400 that says what the KPI supports."""
    given = {
        Scope.CLIENT: client,
        Scope.TECHNICIAN: technician,
        Scope.BOARD: board,
        Scope.PRIORITY: priority,
    }
    chosen = [(scope, value) for scope, value in given.items() if value not in (None, "")]
    if source is not None and Scope.SOURCE not in kpi.scopes:
        raise _unsupported(kpi, Scope.SOURCE)
    if len(chosen) > 2:
        names = ", ".join(s.value for s, _ in chosen)
        raise Unsupported(
            f"Combine at most two of client, technician, board and priority (with source if "
            f"you like), not {names} together. {kpi.name} ({kpi.key}) can be split by: "
            f"{pairs_words(kpi)}.",
            code="too_many_scopes",
        )
    pair = _supported_pair(kpi, chosen[0][0], chosen[1][0]) if len(chosen) == 2 else None
    for scope, _ in chosen:
        if scope not in kpi.scopes:
            raise _unsupported(kpi, scope)
    if source is not None and session.get(Source, source) is None:
        raise NotFound(f"There is no source with id {source}.", code="source_not_found")
    if not chosen:
        return ScopeFilter(source_id=source)
    if pair is None:
        scope, value = chosen[0]
        return _one(session, kpi, scope, value, source)
    values = dict(chosen)
    first = _one(session, kpi, pair.first, values[pair.first], source)
    second = _one(session, kpi, pair.second, values[pair.second], source)
    return _combined(pair, first, second, source)


def _supported_pair(kpi: KpiDefinition, a: Scope, b: Scope) -> ScopePair:
    pair = pair_of(a, b)
    if pair is None or pair not in pairs_of(kpi):
        raise Unsupported(
            f"{kpi.name} ({kpi.key}) cannot be split by {a.value} and {b.value} together. "
            f"It can be scoped by: {', '.join(s.value for s in kpi.scopes) or 'none'}; and "
            f"split by these pairs (each with source too, if you like): {pairs_words(kpi)}.",
            code="scope_combination_not_supported",
        )
    return pair


def _combined(
    pair: ScopePair, first: ScopeFilter, second: ScopeFilter, source: int | None
) -> ScopeFilter:
    """Two resolved scopes as one pair scope: on one source, and priority by level."""
    if pair.second is Scope.PRIORITY and second.dim != "priority_level":
        raise Unsupported(
            f"Combined with {pair.first.value}, priority is P1, P2, P3 or P4 (not the PSA's "
            f"own priority name {second.value!r}, which filters on its own only).",
            code="priority_name_not_combinable",
        )
    sources = {s.source_id for s in (first, second) if s.source_id is not None}
    if len(sources) > 1:
        raise Unsupported(
            f"The {pair.first.value} and the {pair.second.value} asked for belong to "
            "different PSAs, so no ticket or time has both. Use ids of the same source, or a "
            "linked client or technician (linked:<id>).",
            code="scopes_in_different_sources",
        )
    return ScopeFilter(
        first.dim,
        first.value,
        sources.pop() if sources else source,
        technician_id=first.technician_id or second.technician_id,
        client_id=first.client_id or second.client_id,
        second_dim=second.dim,
        second_value=second.value,
    )


def _one(
    session: Session, kpi: KpiDefinition, scope: Scope, value: str | None, source: int | None
) -> ScopeFilter:
    """One scope filter resolved: a client, technician (or linked one), board or priority."""
    assert value is not None
    if scope in (Scope.CLIENT, Scope.TECHNICIAN) and value.strip().lower().startswith(
        LINKED_PREFIX
    ):
        return _linked(session, kpi, scope.value, value.strip(), source)
    if scope is Scope.CLIENT:
        row = _find(session, ClientRow, value, source, "client")
        return ScopeFilter("client", row.external_id, row.source_id, client_id=row.id)
    if scope is Scope.TECHNICIAN:
        row = _find(session, TechnicianRow, value, source, "technician")
        return ScopeFilter("technician", row.external_id, row.source_id, technician_id=row.id)
    if scope is Scope.BOARD:
        return ScopeFilter("board", value, source)
    level = LEVELS.get(value.strip().upper())
    if level is not None:
        return ScopeFilter("priority_level", level, source)
    return ScopeFilter("priority", value, source)


def _linked(
    session: Session, kpi: KpiDefinition, kind: str, value: str, source: int | None
) -> ScopeFilter:
    """`linked:<id>`: a linked client or technician, refused for the KPIs it cannot pool."""
    number = value[len(LINKED_PREFIX) :].strip()
    known = number.isdigit() and int(number) <= ID_MAX
    entity = session.get(LinkedEntity, int(number)) if known else None
    if entity is None or entity.kind != kind:
        raise NotFound(
            f"There is no linked {kind} {value!r}. GET /api/v1/links?kind={kind} lists them.",
            code="linked_entity_not_found",
        )
    if kind == "technician" and kpi.key in NOT_POOLED_FOR_TECHNICIANS:
        raise Unsupported(
            f"{kpi.name} ({kpi.key}) cannot be pooled for a linked technician: each PSA "
            "holds its own working hours for the same person, so adding them up would count "
            "the person's capacity twice. Ask for each member apart (technician=<id>).",
            code="linked_scope_not_supported",
        )
    return ScopeFilter(LINKED_DIMS[kind], str(entity.id), source)


def _find(
    session: Session,
    row_class: type[ClientRow] | type[TechnicianRow],
    value: str,
    source: int | None,
    what: str,
) -> ClientRow | TechnicianRow:
    """A canonical id, or with `source` the PSA's own id (tried first)."""
    row: ClientRow | TechnicianRow | None = None
    if source is not None:
        row = session.scalar(  # type: ignore[assignment]
            select(row_class).where(row_class.source_id == source, row_class.external_id == value)
        )
    if row is None and value.isdigit():
        row = session.get(row_class, int(value))  # type: ignore[assignment]
        if row is not None and source is not None and row.source_id != source:
            row = None
    if row is None:
        hint = "" if source is not None else " (a PSA's own id needs `source` too)"
        raise NotFound(f"There is no {what} {value!r}{hint}.", code=f"{what}_not_found")
    return row
