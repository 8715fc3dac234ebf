"""Query options: read and check them, and turn them into one SQLAlchemy `SELECT`.

Every name in `$filter`, `$select` and `$orderby` must be a declared property of the entity
set (see `entities.py`); literals become bound parameters typed like the column they are
compared with, so filtering (including on date-times, which Power BI's incremental refresh
relies on) happens in the database and no SQL text is ever built from the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from app.bi.odata.entities import EntitySet, Prop
from app.bi.odata.errors import bad_query
from app.bi.odata.filter import (
    INT64_MAX,
    BoolOp,
    Call,
    Compare,
    Literal,
    Node,
    Not,
    Property,
    parse_filter,
)

SUPPORTED = ("$filter", "$select", "$orderby", "$top", "$skip", "$count", "$format", "$skiptoken")
_EDM_OF_LITERAL = {bool: "Edm.Boolean", int: "Edm.Int64", float: "Edm.Double", str: "Edm.String"}
_NUMERIC = ("Edm.Int64", "Edm.Double")


@dataclass(frozen=True)
class Options:
    """The checked query options of one request."""

    filter: ColumnElement[bool] | None
    select: tuple[Prop, ...]
    orderby: tuple[tuple[Prop, bool], ...]  # (property, descending)
    top: int | None
    skip: int
    count: bool


def _non_negative(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    # isascii: str.isdigit also accepts digits int() will not read, such as '²'.
    if not (raw.isascii() and raw.isdigit()):
        raise bad_query(f"{name} must be a whole number of 0 or more, not '{raw}'.")
    if len(raw) > 19 or int(raw) > INT64_MAX:
        raise bad_query(f"{name} must be at most {INT64_MAX}, not {raw}.")
    return int(raw)


def _prop(entity_set: EntitySet, name: str, option: str) -> Prop:
    prop = entity_set.prop(name)
    if prop is None:
        known = ", ".join(p.name for p in entity_set.props)
        raise bad_query(
            f"{option}: {entity_set.name} has no property '{name}'. Properties: {known}.",
            code="unknown_property",
        )
    return prop


def parse_options(entity_set: EntitySet, params: Mapping[str, str]) -> Options:
    """Check every `$` option of `params` against `entity_set`; a 400 `ODataError` names
    the first problem. Unsupported options (`$expand`, `$apply`, ...) are refused rather than
    silently ignored, so a report never shows unfiltered numbers by mistake."""
    for name in params:
        if name.startswith("$") and name not in SUPPORTED:
            raise bad_query(
                f"The query option {name} is not supported by this feed "
                f"(supported: {', '.join(SUPPORTED)}).",
                code="unsupported_query_option",
            )
    fmt = params.get("$format")
    if fmt is not None and not fmt.lower().startswith(("json", "application/json")):
        raise bad_query("$format: this feed answers in JSON only.")
    raw_filter = params.get("$filter")
    where = None if raw_filter is None else to_sql(entity_set, parse_filter(raw_filter))
    selected: list[Prop] = []
    raw_select = params.get("$select")
    if raw_select is not None and raw_select.strip() != "*":
        for name in raw_select.split(","):
            prop = _prop(entity_set, name.strip(), "$select")
            if prop not in selected:
                selected.append(prop)
    orderby: list[tuple[Prop, bool]] = []
    raw_orderby = params.get("$orderby")
    if raw_orderby is not None:
        for item in raw_orderby.split(","):
            parts = item.split()
            if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
                raise bad_query(
                    f"$orderby: '{item.strip()}' should be a property name, optionally "
                    "followed by 'asc' or 'desc'."
                )
            orderby.append((_prop(entity_set, parts[0], "$orderby"), parts[-1] == "desc"))
    raw_count = params.get("$count")
    if raw_count not in (None, "true", "false"):
        raise bad_query(f"$count must be true or false, not '{raw_count}'.")
    skip = _non_negative("$skip", params.get("$skip")) or 0
    token = _non_negative("$skiptoken", params.get("$skiptoken"))
    if skip + (token or 0) > INT64_MAX:
        raise bad_query(f"$skip and $skiptoken together must be at most {INT64_MAX}.")
    return Options(
        filter=where,
        select=tuple(selected) or entity_set.props,
        orderby=tuple(orderby),
        top=_non_negative("$top", params.get("$top")),
        skip=skip + (token or 0),
        count=raw_count == "true",
    )


def _from(entity_set: EntitySet) -> Any:
    assert entity_set.table is not None, f"{entity_set.name} is read through EntitySet.bound"
    return entity_set.table


def build_select(entity_set: EntitySet, options: Options) -> Select[Any]:
    """The rows of one request before paging: selected columns, filter, a stable order
    (the requested order, then the key, so pages never overlap or skip rows)."""
    statement = select(*(p.expr.label(p.name) for p in options.select)).select_from(
        _from(entity_set)
    )
    if options.filter is not None:
        statement = statement.where(options.filter)
    order = [p.expr.desc() if desc else p.expr.asc() for p, desc in options.orderby]
    order += [_prop(entity_set, k, "key").expr.asc() for k in entity_set.key]
    return statement.order_by(*order)


def count_select(entity_set: EntitySet, options: Options) -> Select[Any]:
    """`SELECT count(*)` of the filtered rows, ignoring `$top` and `$skip` (as `$count`)."""
    statement = select(func.count()).select_from(_from(entity_set))
    if options.filter is not None:
        statement = statement.where(options.filter)
    return statement


# --- $filter tree -> SQL --------------------------------------------------------------


@dataclass(frozen=True)
class _Typed:
    """A translated operand: its SQL, its EDM type (None for null), and whether it is a
    bare literal whose bind type should follow the other side of a comparison."""

    sql: Any
    edm: str | None
    literal: Literal | None = None


def _edm_of(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return "Edm.DateTimeOffset"
    if isinstance(value, date):
        return "Edm.Date"
    return _EDM_OF_LITERAL[type(value)]


def _compatible(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b or (a in _NUMERIC and b in _NUMERIC)


def _operand(entity_set: EntitySet, node: Node) -> _Typed:
    if isinstance(node, Literal):
        return _Typed(None, _edm_of(node.value), node)
    if isinstance(node, Property):
        prop = _prop(entity_set, node.name, "$filter")
        return _Typed(prop.expr, prop.edm)
    if isinstance(node, Call):
        return _call(entity_set, node)
    return _Typed(to_sql(entity_set, node), "Edm.Boolean")


def _bind(side: _Typed, other: _Typed) -> Any:
    if side.literal is None:
        return side.sql
    value = side.literal.value
    if other.literal is None and other.sql is not None and value is not None:
        return literal(value, type_=other.sql.type)
    return literal(value)


def _compare(entity_set: EntitySet, node: Compare) -> ColumnElement[bool]:
    left, right = _operand(entity_set, node.left), _operand(entity_set, node.right)
    if not _compatible(left.edm, right.edm):
        raise bad_query(
            f"$filter: cannot compare a {left.edm} with a {right.edm} ('{node.op}'). "
            "Dates are written 2025-01-01, date-times 2025-01-01T00:00:00Z, text in quotes.",
            code="type_mismatch",
        )
    if node.op in ("eq", "ne") and (left.edm is None or right.edm is None):
        other = right if left.edm is None else left
        if other.edm is None:
            return true() if node.op == "eq" else false()
        sql = _bind(other, left if other is right else right)
        return sql.is_(None) if node.op == "eq" else sql.is_not(None)  # type: ignore[no-any-return]
    if left.edm is None or right.edm is None:
        raise bad_query(f"$filter: null can only be compared with 'eq' or 'ne', not '{node.op}'.")
    a, b = _bind(left, right), _bind(right, left)
    if node.op == "eq":
        return a == b  # type: ignore[no-any-return]
    if node.op == "ne":
        # OData: a value is "not equal" to null, which SQL's <> would leave out.
        column = a if left.literal is None else b
        return or_(a != b, column.is_(None))
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[node.op]  # type: ignore[no-any-return]


def _call(entity_set: EntitySet, node: Call) -> _Typed:
    args = [_operand(entity_set, arg) for arg in node.args]
    if node.name in ("year", "month", "day"):
        (arg,) = args
        if arg.edm not in ("Edm.Date", "Edm.DateTimeOffset") or arg.literal is not None:
            raise bad_query(f"$filter: {node.name}() takes a date or date-time property.")
        return _Typed(extract(node.name, arg.sql), "Edm.Int64")
    text, needle = args
    if text.edm != "Edm.String" or text.literal is not None:
        raise bad_query(f"$filter: {node.name}() takes a text property first.")
    if needle.literal is None or not isinstance(needle.literal.value, str):
        raise bad_query(f"$filter: {node.name}() takes a quoted text second, e.g. 'abc'.")
    value = needle.literal.value
    if node.name == "contains":
        return _Typed(text.sql.contains(value, autoescape=True), "Edm.Boolean")
    if node.name == "startswith":
        return _Typed(text.sql.startswith(value, autoescape=True), "Edm.Boolean")
    return _Typed(text.sql.endswith(value, autoescape=True), "Edm.Boolean")


def _chain(node: BoolOp) -> list[Node]:
    """The operands of a run of the same operator (`a or b or c`), left to right: built
    as one flat SQL `OR`, so a long run never recurses once per term."""
    parts: list[Node] = []
    pending: list[Node] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, BoolOp) and current.op == node.op:
            pending += [current.right, current.left]
        else:
            parts.append(current)
    return parts


def to_sql(entity_set: EntitySet, node: Node) -> ColumnElement[bool]:
    """The SQL condition of a parsed `$filter`; names and types are checked (400 if not)."""
    if isinstance(node, BoolOp):
        combine = and_ if node.op == "and" else or_
        return combine(*(to_sql(entity_set, part) for part in _chain(node)))
    if isinstance(node, Not):
        return not_(to_sql(entity_set, node.operand))
    if isinstance(node, Compare):
        return _compare(entity_set, node)
    typed = _operand(entity_set, node)
    if typed.edm != "Edm.Boolean":
        raise bad_query("$filter must be a condition, e.g. Date ge 2025-01-01 or IsClosed eq true.")
    if typed.literal is not None:
        return true() if typed.literal.value else false()
    return typed.sql.is_(True) if isinstance(node, Property) else typed.sql  # type: ignore[no-any-return]
