"""The simulator's conditions, fields and orderBy language (reference §4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.connectwise.simulator_conditions import QueryError, compile_conditions
from connectors.connectwise.simulator_fields import (
    parse_fields,
    parse_order_by,
    project,
    sort_records,
)

TICKET: dict[str, Any] = {
    "id": 42,
    "summary": "Outlook keeps prompting for password",
    "closedFlag": False,
    "board": {"id": 1, "name": "Help Desk"},
    "priority": {"id": 8, "name": "Priority 3 - Normal Response", "sort": 6},
    "actualHours": 1.25,
    "types": [{"id": 1, "name": "Owner"}, {"id": 2, "name": "Client"}],
    "_info": {"lastUpdated": "2025-03-04T16:20:11Z", "dateEntered": "2025-03-04T14:00:09Z"},
}


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ('summary = "Outlook keeps prompting for password"', True),
        ("summary = 'OUTLOOK KEEPS PROMPTING FOR PASSWORD'", True),
        ('summary != "x"', True),
        ("closedFlag = false", True),
        ("ClosedFlag = True", False),
        ("board/id = 1 and board/name = 'Help Desk'", True),
        ("Board/Name = 'help desk'", True),
        ("priority/sort >= 6 and priority/sort < 7", True),
        ("actualHours > 1.2", True),
        ("id in (1, 42, 7)", True),
        ("id not in (1, 42)", False),
        ("board/name in ('Help Desk', 'Projects')", True),
        ('summary like "outlook*"', True),
        ('summary like "%prompting%"', True),
        ('summary not like "Printer%"', True),
        ('summary contains "PROMPTING"', True),
        ('summary not contains "prompting"', False),
        ("lastUpdated >= [2025-03-04T16:20:11Z]", True),
        ("lastUpdated > [2025-03-04T16:20:11Z]", False),
        ("_info/lastUpdated < [2025-03-05T00:00:00Z]", True),
        ("dateEntered > [2025-03-04T14:00:00.123456]", True),
        ("closedDate = null", True),
        ("closedDate != null", False),
        ("owner/id = 5", False),
        ("owner/id != 5", False),  # a missing value compares false, as in SQL
        ("(closedFlag = true or board/id = 1) and id > 40", True),
        ("closedFlag = true or (board/id = 2 and id > 40)", False),
        ("types/name = 'Owner'", True),
        ("types/name = 'Vendor'", False),
        ("summary = 'it\\'s'", False),
    ],
)
def test_conditions(conditions: str, expected: bool) -> None:
    assert compile_conditions(conditions).matches(TICKET) is expected


def test_top_level_id_bounds_are_extracted_for_bisecting() -> None:
    compiled = compile_conditions("lastUpdated >= [2025-01-01T00:00:00Z] and id > 10 and id <= 20")
    assert (compiled.bounds.after, compiled.bounds.upto) == (10, 20)
    assert compiled.changed is not None
    assert compiled.residual is None
    assert not compiled.matches({"id": 21, "_info": {"lastUpdated": "2025-02-01T00:00:00Z"}})
    assert compiled.matches({"id": 20, "_info": {"lastUpdated": "2025-02-01T00:00:00Z"}})
    only_ids = compile_conditions("id >= 5 and id < 9")
    assert (only_ids.bounds.after, only_ids.bounds.upto, only_ids.residual) == (4, 8, None)
    either = compile_conditions("id > 10 or id < 3")
    assert either.bounds.after < 0 and either.residual is not None


@pytest.mark.parametrize(
    "conditions",
    [
        "summary = ",
        "summary = unquoted",
        "(id = 1",
        "id = 1 )",
        "id in 1, 2",
        "id ~ 3",
        "x = [bad]",
    ],
)
def test_malformed_conditions_raise(conditions: str) -> None:
    with pytest.raises(QueryError):
        compile_conditions(conditions)


def test_fields_projection_keeps_nested_paths_and_skips_absent() -> None:
    tree = parse_fields("id,board/name,_info/lastUpdated,owner/id,types/name")
    assert project(TICKET, tree) == {
        "id": 42,
        "board": {"name": "Help Desk"},
        "_info": {"lastUpdated": "2025-03-04T16:20:11Z"},
        "types": [{"name": "Owner"}, {"name": "Client"}],
    }


def test_order_by_several_keys_missing_last() -> None:
    rows = [{"id": 1, "b": 2}, {"id": 2}, {"id": 3, "b": 1}, {"id": 4, "b": 2}]
    ordered = sort_records(rows, parse_order_by("b asc, id desc"))
    assert [row["id"] for row in ordered] == [3, 4, 1, 2]
    with pytest.raises(QueryError):
        parse_order_by("id sideways")


def test_changed_since_threshold_follows_second_truncation() -> None:
    after = compile_conditions("lastUpdated > [2025-01-01T00:00:00Z]").changed
    at_least = compile_conditions("_info/lastUpdated >= [2025-01-01T00:00:00.5]").changed
    assert after is not None and at_least is not None
    second = datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert after.threshold == at_least.threshold == second
    assert not after.admits(second - timedelta(microseconds=1)) and after.admits(second)
