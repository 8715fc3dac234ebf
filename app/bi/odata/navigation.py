"""Addressing single entities and following navigation properties.

`Tickets(42)` is one ticket (a string key is quoted: `Kpis('mrr')`, with `''` for a quote),
and `Tickets(42)/Client` the client it refers to: the row of the target set whose property
`remote` equals the ticket's `local` (`Nav`). A collection (`Clients(7)/Tickets`) is read
like an entity set, with the same query options and paging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, literal, select
from sqlalchemy.orm import Session

from app.bi.odata.errors import ODataError, bad_query
from app.bi.odata.filter import INT64_MAX
from app.bi.odata.model import EntitySet, Nav

_ADDRESS = re.compile(r"^(?P<set>[A-Za-z]+)\((?P<key>.*)\)$", re.DOTALL)


@dataclass(frozen=True)
class Address:
    """A set name, and the key of one of its entities when the segment names one."""

    set_name: str
    key: int | str | None = None


def parse_segment(segment: str) -> Address:
    """`Tickets` or `Tickets(42)` / `Tickets(Id=42)` / `Kpis('mrr')`."""
    match = _ADDRESS.match(segment)
    if match is None:
        return Address(segment)
    raw = match.group("key").strip()
    if "=" in raw and not raw.startswith("'"):
        raw = raw.partition("=")[2].strip()
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        return Address(match.group("set"), raw[1:-1].replace("''", "'"))
    if raw.isascii() and raw.lstrip("-").isdigit() and abs(int(raw)) <= INT64_MAX:
        return Address(match.group("set"), int(raw))
    raise bad_query(
        f"'{match.group('key')}' is not a key: write a number, e.g. Tickets(42), or a quoted "
        "text, e.g. Kpis('mrr').",
        code="invalid_key",
    )


def key_condition(entity_set: EntitySet, key: int | str) -> ColumnElement[bool]:
    """The row of `entity_set` with that key (its one key property), type-checked."""
    (name,) = entity_set.key
    prop = entity_set.prop(name)
    assert prop is not None
    wanted = "Edm.String" if isinstance(key, str) else "Edm.Int64"
    if prop.edm != wanted:
        example = "a number" if prop.edm == "Edm.Int64" else "a quoted text"
        raise bad_query(f"{entity_set.name} is keyed by {name}, {example}.", code="invalid_key")
    return prop.expr == literal(key, prop.expr.type)


def one_row(session: Session, entity_set: EntitySet, condition: Any) -> dict[str, Any] | None:
    """Every property of the one row matching `condition`, or None."""
    statement = (
        select(*(p.expr.label(p.name) for p in entity_set.props))
        .select_from(entity_set.table)  # type: ignore[arg-type]
        .where(condition)
        .limit(2)
    )
    rows = session.execute(statement).mappings().all()
    return dict(rows[0]) if rows else None


def find(session: Session, entity_set: EntitySet, key: int | str) -> dict[str, Any]:
    """The entity with that key, or a 404 naming it."""
    row = one_row(session, entity_set, key_condition(entity_set, key))
    if row is None:
        shown = f"'{key}'" if isinstance(key, str) else str(key)
        raise ODataError(
            404, "entity_not_found", f"{entity_set.name} has no entity with key {shown}."
        )
    return row


def navigation(entity_set: EntitySet, name: str) -> Nav:
    nav = entity_set.nav(name)
    if nav is None:
        known = ", ".join(n.name for n in entity_set.navs) or "none"
        raise ODataError(
            404,
            "unknown_navigation_property",
            f"{entity_set.type_name} has no navigation property '{name}'. It has: {known}.",
        )
    return nav


def follow_condition(
    nav: Nav, target: EntitySet, row: dict[str, Any]
) -> ColumnElement[bool] | None:
    """The target rows `nav` leads to from `row`; None when `row` refers to nothing."""
    value = row[nav.local]
    if value is None:
        return None
    prop = target.prop(nav.remote)
    assert prop is not None
    return prop.expr == literal(value, prop.expr.type)
