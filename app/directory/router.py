"""`/api/v1/clients`, `/api/v1/technicians` and `/api/v1/links`: who is who, across PSAs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import AdminKey, ReadKey, SessionDep
from app.api.params import IdPath, id_query
from app.api.tabular import CSV_RESPONSES, CsvFormat, csv_response, wants_csv
from app.directory import links as service
from app.directory.entries import entries_by_id, get_entry, list_entries
from app.directory.models import LinkedEntity
from app.directory.schemas import (
    ENTRY_COLUMNS,
    EntryOut,
    EntryPage,
    EvidenceKindOut,
    Kind,
    LinkIn,
    LinkOut,
    LinkPatch,
    MemberIn,
    RejectIn,
    RejectOut,
    SuggestionOut,
    SuggestionsOut,
)
from app.directory.suggest import EVIDENCE, THRESHOLD
from app.inputs import ID_MAX
from app.kpis.scope import LINKED_PREFIX

router = APIRouter()

SearchQuery = Annotated[
    str | None,
    Query(max_length=200, description="Part of the name; case and accents do not matter."),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="How many per page, by name.")]
Offset = Annotated[int, Query(ge=0, le=ID_MAX, description="How many to skip (for paging).")]
SourceFilter = Annotated[int | None, id_query("Only this source (PSA).")]


def _page(
    request: Request,
    session: SessionDep,
    kind: str,
    q: str | None,
    source: int | None,
    limit: int,
    offset: int,
    format: str | None,
) -> Any:
    total, entries = list_entries(session, kind, q=q, source_id=source, limit=limit, offset=offset)
    items = [EntryOut.of(e) for e in entries]
    if wants_csv(request, format):
        response = csv_response((i.flat() for i in items), ENTRY_COLUMNS, f"{kind}s.csv")
        response.headers["X-Total-Count"] = str(total)
        return response
    return EntryPage(total=total, limit=limit, offset=offset, items=items)


@router.get(
    "/clients",
    response_model=EntryPage,
    tags=["directory"],
    summary="Find a client's id",
    responses=CSV_RESPONSES,
)
def list_clients(
    request: Request,
    session: SessionDep,
    _key: ReadKey,
    q: SearchQuery = None,
    source: SourceFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: CsvFormat = None,
) -> Any:
    """Every client of every PSA, by name, with the `id` that KPI filters (`client=`) and
    breakdowns use, and the linked client it belongs to if it is linked across PSAs. In CSV,
    the `X-Total-Count` header gives how many match over every page."""
    return _page(request, session, "client", q, source, limit, offset, format)


@router.get(
    "/clients/{client_id}", response_model=EntryOut, tags=["directory"], summary="One client"
)
def get_client(client_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    return EntryOut.of(get_entry(session, "client", client_id))


@router.get(
    "/technicians",
    response_model=EntryPage,
    tags=["directory"],
    summary="Find a technician's id",
    responses=CSV_RESPONSES,
)
def list_technicians(
    request: Request,
    session: SessionDep,
    _key: ReadKey,
    q: SearchQuery = None,
    source: SourceFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: CsvFormat = None,
) -> Any:
    """Every technician of every PSA, by name, with the `id` that KPI filters
    (`technician=`) and breakdowns use. In CSV, `X-Total-Count` gives how many match."""
    return _page(request, session, "technician", q, source, limit, offset, format)


@router.get(
    "/technicians/{technician_id}",
    response_model=EntryOut,
    tags=["directory"],
    summary="One technician",
)
def get_technician(technician_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    return EntryOut.of(get_entry(session, "technician", technician_id))


# ---- links ---------------------------------------------------------------------------------


def _link_out(session: SessionDep, entity: LinkedEntity, members: list[int]) -> LinkOut:
    entries = entries_by_id(session, entity.kind, members)
    return LinkOut(
        id=entity.id,
        kind=entity.kind,
        name=entity.name,
        scope=f"{LINKED_PREFIX}{entity.id}",
        members=[EntryOut.of(entries[m]) for m in members if m in entries],
        created_by=entity.created_by,
        created_at=entity.created_at,
        updated_at=entity.updated_at,
    )


@router.get(
    "/links/suggestions",
    response_model=SuggestionsOut,
    tags=["links"],
    summary="Clients or technicians that look like one",
)
def list_suggestions(
    session: SessionDep,
    _key: ReadKey,
    kind: Annotated[Kind, Query(description="client or technician")],
    min_score: Annotated[
        float | None,
        Query(ge=0, le=1, description="Only suggestions scoring this or more (default: all)."),
    ] = None,
) -> Any:
    """Pairs from different PSAs that may be one business, best first, each with its score
    and what it rests on (same name, same e-mail, same domain or website). Nothing is linked
    until you confirm (POST /api/v1/links); a rejected pair is not suggested again. Those
    at or above `threshold` are the ones Northstar would link; the rest are weaker hints."""
    found = [
        s for s in service.suggestions(session, kind) if min_score is None or s.score >= min_score
    ]
    ids = sorted({c.id for s in found for c in (s.first, s.second)})
    entries = entries_by_id(session, kind, ids)
    return SuggestionsOut(
        kind=kind,
        threshold=THRESHOLD,
        evidence_kinds=[
            EvidenceKindOut(kind=e.key, description=e.description, weight=e.weights[kind])
            for e in EVIDENCE
            if kind in e.weights
        ],
        suggestions=[SuggestionOut.of(s, entries, THRESHOLD) for s in found],
    )


@router.post(
    "/links/suggestions/reject",
    response_model=RejectOut,
    status_code=201,
    tags=["links"],
    summary="Reject a suggested link",
)
def reject_suggestion(body: RejectIn, session: SessionDep, key: AdminKey) -> Any:
    """The two are not one business: the pair is not suggested again. Sending it again
    changes nothing."""
    decision = service.reject_pair(
        session, body.kind, body.first, body.second, by=f"API key {key.name}"
    )
    return RejectOut(
        kind=decision.kind,
        first=decision.first_id,
        second=decision.second_id,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
    )


@router.get("/links", response_model=list[LinkOut], tags=["links"], summary="Linked entities")
def list_links(
    session: SessionDep,
    _key: ReadKey,
    kind: Annotated[Kind | None, Query(description="Only clients or technicians.")] = None,
) -> Any:
    entities = service.list_links(session, kind)
    members = service.members_by_link(session, entities)
    return [_link_out(session, e, members[e.id]) for e in entities]


@router.post("/links", response_model=LinkOut, status_code=201, tags=["links"], summary="Link")
def confirm_link(body: LinkIn, session: SessionDep, key: AdminKey) -> Any:
    """Make one client (or technician) of two or more, usually one per PSA. Its KPIs,
    breakdown rows and goals (`client=linked:<id>`) then add up its members' numbers. Two
    rows of one PSA may be linked too (a client entered twice)."""
    entity = service.confirm_link(
        session, body.kind, body.members, body.name, by=f"API key {key.name}"
    )
    return _link_out(session, entity, service.member_ids(session, entity))


@router.get("/links/{link_id}", response_model=LinkOut, tags=["links"], summary="One link")
def get_link(link_id: IdPath, session: SessionDep, _key: ReadKey) -> Any:
    entity = service.get_link(session, link_id)
    return _link_out(session, entity, service.member_ids(session, entity))


@router.patch("/links/{link_id}", response_model=LinkOut, tags=["links"], summary="Rename")
def rename_link(link_id: IdPath, body: LinkPatch, session: SessionDep, _key: AdminKey) -> Any:
    entity = service.get_link(session, link_id)
    entity.name = body.name.strip()
    session.flush()
    return _link_out(session, entity, service.member_ids(session, entity))


@router.delete("/links/{link_id}", status_code=204, tags=["links"], summary="Unlink")
def delete_link(link_id: IdPath, session: SessionDep, _key: AdminKey) -> Response:
    """Undo the link: each member is on its own again in KPIs and breakdowns. Refused (409)
    while goals follow it."""
    service.unlink(session, service.get_link(session, link_id))
    return Response(status_code=204)


@router.post(
    "/links/{link_id}/members",
    response_model=LinkOut,
    status_code=201,
    tags=["links"],
    summary="Add a member",
)
def add_member(link_id: IdPath, body: MemberIn, session: SessionDep, _key: AdminKey) -> Any:
    entity = service.get_link(session, link_id)
    service.add_member(session, entity, body.member)
    return _link_out(session, entity, service.member_ids(session, entity))


@router.delete(
    "/links/{link_id}/members/{member_id}",
    response_model=LinkOut,
    tags=["links"],
    summary="Remove a member",
)
def remove_member(link_id: IdPath, member_id: IdPath, session: SessionDep, _key: AdminKey) -> Any:
    """The member is on its own again; the link keeps the others (at least two)."""
    entity = service.get_link(session, link_id)
    service.remove_member(session, entity, member_id)
    return _link_out(session, entity, service.member_ids(session, entity))
