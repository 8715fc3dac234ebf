"""Confirming, changing and undoing links, and the suggestions a person confirms or rejects.

Rules: a linked entity has at least two members, all of its kind; a row is a member of at
most one linked entity. Members of one source are allowed: a client entered twice in one
PSA is a real duplicate, and linking the two rows pools them the same way. A linked entity
that goals follow cannot be unlinked until their scope changes.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from app.directory.entries import ROW_CLASSES, member_column
from app.directory.models import EntityLink, LinkDecision, LinkedEntity
from app.directory.suggest import Candidate, Suggestion, suggest
from app.errors import Conflict, InvalidInput, NotFound
from app.goals.models import Goal
from app.kpis.scope import LINKED_DIMS


def _invalid(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, details=[{"field": field, "problem": message}])


def get_link(session: Session, link_id: int) -> LinkedEntity:
    entity = session.get(LinkedEntity, link_id)
    if entity is None:
        raise NotFound(
            f"There is no linked client or technician {link_id}. GET /api/v1/links lists them.",
            code="link_not_found",
        )
    return entity


def list_links(session: Session, kind: str | None = None) -> list[LinkedEntity]:
    query = select(LinkedEntity).order_by(LinkedEntity.id)
    if kind is not None:
        query = query.where(LinkedEntity.kind == kind)
    return list(session.scalars(query))


def member_ids(session: Session, entity: LinkedEntity) -> list[int]:
    column = member_column(entity.kind)
    return sorted(
        session.scalars(select(column).where(EntityLink.linked_entity_id == entity.id)).all()
    )


def members_by_link(session: Session, entities: list[LinkedEntity]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {e.id: [] for e in entities}
    if not entities:
        return found
    rows = session.scalars(select(EntityLink).where(EntityLink.linked_entity_id.in_(list(found))))
    for link in rows:
        found[link.linked_entity_id].append(link.member_id)
    return {k: sorted(v) for k, v in found.items()}


def _check_members(
    session: Session, kind: str, ids: list[int], field: str, *, joining: int | None = None
) -> list[object]:
    """The rows of `ids`: each must exist and be linked nowhere else."""
    row_class = ROW_CLASSES[kind]
    rows = {r.id: r for r in session.scalars(select(row_class).where(row_class.id.in_(ids)))}
    unknown = [i for i in ids if i not in rows]
    if unknown:
        words = ", ".join(str(i) for i in unknown)
        raise _invalid(
            field,
            f"There is no {kind} with id {words}. GET /api/v1/{kind}s lists them.",
            "member_not_found",
        )
    column = member_column(kind)
    taken = session.execute(
        select(column, EntityLink.linked_entity_id).where(column.in_(ids))
    ).all()
    elsewhere = [(member, linked) for member, linked in taken if linked != joining]
    if elsewhere:
        member, linked = elsewhere[0]
        raise Conflict(
            f"{kind.capitalize()} {member} is already linked in linked {kind} {linked}: "
            f"remove it there first (DELETE /api/v1/links/{linked}/members/{member}).",
            code="member_already_linked",
        )
    return [rows[i] for i in ids]


def confirm_link(
    session: Session, kind: str, ids: list[int], name: str | None, by: str
) -> LinkedEntity:
    """Link `ids` (rows of `kind`) into one new linked entity, named `name` or after its
    first member."""
    distinct = list(dict.fromkeys(ids))
    if len(distinct) < 2:
        raise _invalid(
            "body.members",
            f"A link joins at least two {kind}s; give two or more different ids.",
            "too_few_members",
        )
    rows = _check_members(session, kind, distinct, "body.members")
    first_name: str = getattr(rows[0], "name")  # noqa: B009 (a client or technician row)
    entity = LinkedEntity(kind=kind, name=(name or first_name).strip(), created_by=by)
    session.add(entity)
    session.flush()
    for member in distinct:
        session.add(_link_row(entity, member))
    session.flush()
    return entity


def _link_row(entity: LinkedEntity, member: int) -> EntityLink:
    if entity.kind == "client":
        return EntityLink(linked_entity_id=entity.id, kind="client", client_id=member)
    return EntityLink(linked_entity_id=entity.id, kind="technician", technician_id=member)


def add_member(session: Session, entity: LinkedEntity, member: int) -> None:
    _check_members(session, entity.kind, [member], "body.member", joining=entity.id)
    if member not in member_ids(session, entity):
        session.add(_link_row(entity, member))
        session.flush()


def remove_member(session: Session, entity: LinkedEntity, member: int) -> None:
    members = member_ids(session, entity)
    if member not in members:
        raise NotFound(
            f"{entity.kind.capitalize()} {member} is not a member of linked {entity.kind} "
            f"{entity.id}.",
            code="member_not_linked",
        )
    if len(members) <= 2:
        raise Conflict(
            f"Linked {entity.kind} {entity.id} would keep only one member. To undo the link, "
            f"delete it: DELETE /api/v1/links/{entity.id}.",
            code="too_few_members",
        )
    column = member_column(entity.kind)
    session.execute(
        delete(EntityLink).where(EntityLink.linked_entity_id == entity.id, column == member)
    )


def goals_following(session: Session, entity: LinkedEntity) -> list[Goal]:
    """Goals scoped by the linked entity, as their scope or as the second of a pair."""
    dim, value = LINKED_DIMS[entity.kind], str(entity.id)
    return list(
        session.scalars(
            select(Goal).where(
                or_(
                    and_(Goal.scope_dim == dim, Goal.scope_value == value),
                    and_(Goal.scope_second_dim == dim, Goal.scope_second_value == value),
                )
            )
        )
    )


def unlink(session: Session, entity: LinkedEntity) -> None:
    """Undo the link: its members are separate again everywhere."""
    goals = goals_following(session, entity)
    if goals:
        titles = ", ".join(f"{g.id} ({g.title})" for g in goals[:5])
        raise Conflict(
            f"Goals follow linked {entity.kind} {entity.id}: {titles}. Change their scope "
            "first, then unlink.",
            code="link_in_use",
        )
    session.execute(delete(EntityLink).where(EntityLink.linked_entity_id == entity.id))
    session.delete(entity)
    session.flush()


def reject_pair(session: Session, kind: str, first: int, second: int, by: str) -> LinkDecision:
    """Remember that `first` and `second` are not one business: not suggested again."""
    if first == second:
        raise _invalid("body.members", "Give two different ids.", "same_member")
    _known(session, kind, [first, second])
    low, high = sorted((first, second))
    decision = session.scalar(
        select(LinkDecision).where(
            LinkDecision.kind == kind, LinkDecision.first_id == low, LinkDecision.second_id == high
        )
    )
    if decision is None:
        decision = LinkDecision(kind=kind, first_id=low, second_id=high, decided_by=by)
        session.add(decision)
        session.flush()
    return decision


def _known(session: Session, kind: str, ids: list[int]) -> None:
    row_class = ROW_CLASSES[kind]
    found = set(session.scalars(select(row_class.id).where(row_class.id.in_(ids))))
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise _invalid(
            "body.members",
            f"There is no {kind} with id {', '.join(map(str, unknown))}. "
            f"GET /api/v1/{kind}s lists them.",
            "member_not_found",
        )


def suggestions(session: Session, kind: str) -> list[Suggestion]:
    """Suggested pairs among the rows not linked yet, rejected pairs left out."""
    row_class = ROW_CLASSES[kind]
    column = member_column(kind)
    linked = select(column).where(column.is_not(None))
    rows = session.scalars(select(row_class).where(row_class.id.not_in(linked)))
    candidates = [
        Candidate(
            r.id,
            r.source_id,
            r.name,
            email=getattr(r, "email", None),
            website=getattr(r, "website", None),
        )
        for r in rows
    ]
    rejected = {
        (a, b)
        for a, b in session.execute(
            select(LinkDecision.first_id, LinkDecision.second_id).where(LinkDecision.kind == kind)
        )
    }
    return suggest(candidates, kind, skip=rejected)
