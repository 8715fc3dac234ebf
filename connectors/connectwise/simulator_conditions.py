"""The simulator's `conditions` language (reference §4, §9.8).

`compile_conditions` parses a conditions string into a predicate over rendered records and
pulls top-level `id` bounds and a `lastUpdated` lower bound out of it, so the simulator can
bisect and skip unchanged records instead of rendering and scanning everything.
Semantics follow ConnectWise (SQL Server underneath): field names and string comparisons are
case-insensitive, a comparison with a missing value is false (except `= null`), and a path
through an array matches when any element does (used by `childConditions`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.connectwise.simulator_condition_syntax import (
    Comparison,
    Junction,
    Node,
    Parser,
    QueryError,
    parse_datetime_literal,
)

__all__ = [
    "CompiledConditions",
    "QueryError",
    "compile_conditions",
    "parse_datetime_literal",
    "resolve",
]

Predicate = Callable[[Mapping[str, Any]], bool]

# Spellings that resolve to `_info/...` when the record has no top-level field of that name.
_INFO_ALIASES = {"lastupdated": "_info/lastUpdated", "dateentered": "_info/dateEntered"}
_MISSING = object()


@dataclass(frozen=True, slots=True)
class IdBounds:
    """`low < id <= high` style bounds found at the top level of a conjunction."""

    after: float = -math.inf  # ids must be > after
    upto: float = math.inf  # ids must be <= upto


@dataclass(frozen=True, slots=True)
class ChangedSince:
    """A top-level `lastUpdated >= [moment]` (or `>`): checkable without rendering a record.

    Rendered timestamps are truncated to the second, so a record changed at `u` passes when
    `u >= threshold` (the first whole second the condition admits).
    """

    threshold: datetime
    predicate: Predicate  # the same test on a rendered record

    def admits(self, changed_at: datetime) -> bool:
        return changed_at >= self.threshold


@dataclass(frozen=True, slots=True)
class CompiledConditions:
    bounds: IdBounds
    residual: Predicate | None  # what the bounds and `changed` do not say; None: nothing
    changed: ChangedSince | None = None

    def matches(self, record: Mapping[str, Any]) -> bool:
        """The whole condition, id bounds included."""
        record_id = record.get("id")
        if isinstance(record_id, int) and not self.bounds.after < record_id <= self.bounds.upto:
            return False
        if self.changed is not None and not self.changed.predicate(record):
            return False
        return self.matches_rest(record)

    def matches_rest(self, record: Mapping[str, Any]) -> bool:
        """What neither the id bounds nor `changed` say."""
        return self.residual is None or self.residual(record)


def _lookup(container: Mapping[str, Any], key: str) -> Any:
    value = container.get(key, _MISSING)
    if value is not _MISSING:
        return value
    lowered = key.lower()
    for name, candidate in container.items():
        if name.lower() == lowered:
            return candidate
    return _MISSING


def resolve(record: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at `a/b/c` (several when the path crosses arrays); [] when absent."""
    steps = path.split("/")
    if (
        len(steps) == 1
        and steps[0].lower() in _INFO_ALIASES
        and _lookup(record, steps[0]) is _MISSING
    ):
        steps = _INFO_ALIASES[steps[0].lower()].split("/")
    current: list[Any] = [record]
    for step in steps:
        following: list[Any] = []
        for item in current:
            if isinstance(item, Mapping):
                value = _lookup(item, step)
                if value is _MISSING or value is None:
                    continue
                if isinstance(value, list):
                    following.extend(value)
                else:
                    following.append(value)
        current = following
    return current


def _coerce(value: Any, like: Any) -> Any:
    """The record value in the literal's type, or _MISSING when they cannot compare."""
    if isinstance(like, bool):
        return value if isinstance(value, bool) else _MISSING
    if isinstance(like, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _MISSING
        return float(value)
    if isinstance(like, datetime):
        if not isinstance(value, str):
            return _MISSING
        try:
            return parse_datetime_literal(value)
        except QueryError:
            return _MISSING
    if isinstance(like, str):
        return str(value).lower() if not isinstance(value, Mapping | list) else _MISSING
    return _MISSING


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"([*%])", pattern)
    regex = "".join(".*" if part in ("*", "%") else re.escape(part) for part in parts)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _compile_comparison(node: Comparison) -> Predicate:
    path, op, literal = node.path, node.op, node.value
    if literal is None and op in ("=", "!="):
        present = op == "!="
        return lambda record: bool(resolve(record, path)) is present
    if op.endswith("like") or op.endswith("contains"):
        negate = op.startswith("not ")
        if op.endswith("like"):
            pattern = _wildcard(literal)
            test: Callable[[str], bool] = lambda text: pattern.match(text) is not None  # noqa: E731
        else:
            needle = literal.lower()
            test = lambda text: needle in text.lower()  # noqa: E731

        def match_text(record: Mapping[str, Any]) -> bool:
            values = [v for v in resolve(record, path) if isinstance(v, str | int | float)]
            hit = any(test(str(value)) for value in values)
            return (not hit and bool(values)) if negate else hit

        return match_text
    if op.endswith("in"):
        negate = op.startswith("not ")
        options = [value for value in literal if value is not None]

        def match_in(record: Mapping[str, Any]) -> bool:
            values = resolve(record, path)
            hit = any(
                (coerced := _coerce(value, option)) is not _MISSING and coerced == _norm(option)
                for value in values
                for option in options
            )
            return (not hit and bool(values)) if negate else hit

        return match_in
    compare = _COMPARE[op]
    expected = _norm(literal)

    def match(record: Mapping[str, Any]) -> bool:
        for value in resolve(record, path):
            coerced = _coerce(value, literal)
            if coerced is not _MISSING and compare(coerced, expected):
                return True
        return False

    return match


def _norm(literal: Any) -> Any:
    return literal.lower() if isinstance(literal, str) else literal


def _compile(node: Node) -> Predicate:
    if isinstance(node, Comparison):
        return _compile_comparison(node)
    parts = [_compile(part) for part in node.parts]
    if node.kind == "and":
        return lambda record: all(part(record) for part in parts)
    return lambda record: any(part(record) for part in parts)


def _id_bound(node: Node, bounds: IdBounds) -> IdBounds | None:
    """Tighter bounds if `node` is `id <op> number`, else None."""
    if not isinstance(node, Comparison) or node.path.lower() != "id":
        return None
    value = node.value
    if not isinstance(value, float) or isinstance(value, bool):
        return None
    after, upto = bounds.after, bounds.upto
    if node.op == ">":
        after = max(after, value)
    elif node.op == ">=":
        after = max(after, math.ceil(value) - 1)
    elif node.op == "<=":
        upto = min(upto, value)
    elif node.op == "<":
        upto = min(upto, math.ceil(value) - 1)
    elif node.op == "=":
        after, upto = max(after, value - 1), min(upto, value)
    else:
        return None
    return IdBounds(after, upto)


@functools.lru_cache(maxsize=512)
def compile_conditions(text: str | None) -> CompiledConditions:
    """Parse and compile; raises QueryError. Cached: pages of one read repeat their filter."""
    if text is None or not text.strip():
        return CompiledConditions(IdBounds(), None)
    node = Parser(text).parse()
    conjuncts: Sequence[Node] = (
        node.parts if isinstance(node, Junction) and node.kind == "and" else (node,)
    )
    bounds = IdBounds()
    changed: ChangedSince | None = None
    rest: list[Node] = []
    for part in conjuncts:
        tighter = _id_bound(part, bounds)
        if tighter is not None:
            bounds = tighter
        elif changed is None and (changed := _changed_since(part)) is not None:
            pass
        else:
            rest.append(part)
    if not rest:
        return CompiledConditions(bounds, None, changed)
    residual = _compile(rest[0] if len(rest) == 1 else Junction("and", tuple(rest)))
    return CompiledConditions(bounds, residual, changed)


def _changed_since(node: Node) -> ChangedSince | None:
    if (
        isinstance(node, Comparison)
        and node.path.lower() in ("lastupdated", "_info/lastupdated")
        and node.op in (">=", ">")
        and isinstance(node.value, datetime)
    ):
        moment: datetime = node.value
        whole = moment.replace(microsecond=0)
        if node.op == ">" or whole < moment:
            whole += timedelta(seconds=1)
        return ChangedSince(whole, _compile_comparison(node))
    return None
