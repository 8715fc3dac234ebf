"""The directories: every client and technician Northstar holds, with the ids KPIs take.

A client's (or technician's) id here is the one `client=` (`technician=`) and breakdowns use.
Search folds case and accents in Python: directories hold hundreds or a few thousand rows,
and SQLite and PostgreSQL fold accents differently (or not at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.directory.models import EntityLink, LinkedEntity
from app.directory.normalise import email_domain, fold, website_host
from app.errors import NotFound
from app.facts.models import ClientRow, TechnicianRow
from app.kpis.scope import LINKED_PREFIX
from app.sources.models import Source

ROW_CLASSES: dict[str, Any] = {"client": ClientRow, "technician": TechnicianRow}


@dataclass(frozen=True, slots=True)
class LinkedRef:
    id: int
    name: str

    @property
    def scope(self) -> str:
        return f"{LINKED_PREFIX}{self.id}"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    kind: str
    name: str
    active: bool
    source_id: int
    source_name: str
    external_id: str
    email: str | None
    domain: str | None
    website: str | None
    linked: LinkedRef | None


def member_column(kind: str) -> Any:
    return EntityLink.client_id if kind == "client" else EntityLink.technician_id


def _entry(row: Any, kind: str, sources: dict[int, str], linked: LinkedRef | None) -> Entry:
    # Only technicians carry an e-mail address today; the PSAs' client records are read
    # without contact details, so a client's are empty until a connector reads them.
    email = getattr(row, "email", None)
    website = getattr(row, "website", None)
    domain = email_domain(email) or website_host(website)
    return Entry(
        id=row.id,
        kind=kind,
        name=row.name,
        active=row.active,
        source_id=row.source_id,
        source_name=sources.get(row.source_id, f"source {row.source_id}"),
        external_id=row.external_id,
        email=email,
        domain=domain,
        website=website,
        linked=linked,
    )


def _links_of(session: Session, kind: str, ids: list[int] | None) -> dict[int, LinkedRef]:
    column = member_column(kind)
    query = select(column, LinkedEntity.id, LinkedEntity.name).join(
        LinkedEntity, LinkedEntity.id == EntityLink.linked_entity_id
    )
    query = query.where(column.is_not(None))
    if ids is not None:
        query = query.where(column.in_(ids))
    return {member: LinkedRef(linked, name) for member, linked, name in session.execute(query)}


def _sources(session: Session) -> dict[int, str]:
    return {source_id: name for source_id, name in session.execute(select(Source.id, Source.name))}


def list_entries(
    session: Session,
    kind: str,
    *,
    q: str | None = None,
    source_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[Entry]]:
    """(how many match, the page asked for), sorted by name then id."""
    row_class = ROW_CLASSES[kind]
    query = select(row_class)
    if source_id is not None:
        query = query.where(row_class.source_id == source_id)
    rows = list(session.scalars(query))
    if q and q.strip():
        wanted = fold(q.strip())
        rows = [r for r in rows if wanted in fold(r.name)]
    rows.sort(key=lambda r: (fold(r.name), r.id))
    page = rows[offset : offset + limit]
    links = _links_of(session, kind, [r.id for r in page])
    sources = _sources(session)
    return len(rows), [_entry(r, kind, sources, links.get(r.id)) for r in page]


def get_entry(session: Session, kind: str, entry_id: int) -> Entry:
    row = session.get(ROW_CLASSES[kind], entry_id)
    if row is None:
        raise NotFound(
            f"There is no {kind} {entry_id}. GET /api/v1/{kind}s lists them.",
            code=f"{kind}_not_found",
        )
    return _entry(row, kind, _sources(session), _links_of(session, kind, [row.id]).get(row.id))


def entries_by_id(session: Session, kind: str, ids: list[int]) -> dict[int, Entry]:
    row_class = ROW_CLASSES[kind]
    rows = list(session.scalars(select(row_class).where(row_class.id.in_(ids)))) if ids else []
    links = _links_of(session, kind, ids)
    sources = _sources(session)
    return {r.id: _entry(r, kind, sources, links.get(r.id)) for r in rows}
