"""The $filter parser: precedence, literals, functions, and 400s for malformed input."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.bi.odata.errors import ODataError
from app.bi.odata.filter import (
    BoolOp,
    Call,
    Compare,
    Literal,
    Not,
    Property,
    parse_filter,
)


def test_precedence_not_and_or_and_parentheses() -> None:
    tree = parse_filter("A eq 1 or not B eq 2 and (C eq 3 or D eq 4)")
    assert tree == BoolOp(
        "or",
        Compare("eq", Property("A"), Literal(1)),
        BoolOp(
            "and",
            Not(Compare("eq", Property("B"), Literal(2))),
            BoolOp(
                "or",
                Compare("eq", Property("C"), Literal(3)),
                Compare("eq", Property("D"), Literal(4)),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'it''s'", "it's"),
        ("-12", -12),
        ("2.5", 2.5),
        ("null", None),
        ("true", True),
        ("FALSE", False),
        ("2025-01-31", date(2025, 1, 31)),
        ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T05:30:00+05:30", datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_literals(text: str, value: object) -> None:
    tree = parse_filter(f"X ge {text}")
    assert isinstance(tree, Compare) and isinstance(tree.right, Literal)
    assert tree.right.value == value
    assert type(tree.right.value) is type(value)


def test_functions() -> None:
    assert parse_filter("year(Date) eq 2025 and contains(Name,'a')") == BoolOp(
        "and",
        Compare("eq", Call("year", (Property("Date"),)), Literal(2025)),
        Call("contains", (Property("Name"), Literal("a"))),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "foo eq",
        "eq 1",
        "(A eq 1",
        "A eq 1)",
        "A eq 1 B eq 2",
        "A eq 'open",
        "A eq 2025-13-45",
        "lower(A) eq 'x'",
        "year(A, B) eq 1",
        "A ; drop table x",
        "A eq 99999999999999999999",
        "A eq 1e999",
    ],
)
def test_malformed_filters_are_400(text: str) -> None:
    with pytest.raises(ODataError) as caught:
        parse_filter(text)
    assert caught.value.status == 400
