"""Picklist labels, urgency levels by sort order, and the cache's lifetime."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from connectors.autotask.picklists import PicklistCache, parse_picklists

pytestmark = pytest.mark.anyio


def value(v: str, label: str, sort: int, active: bool = True) -> dict[str, Any]:
    return {"value": v, "label": label, "sortOrder": sort, "isActive": active}


PRIORITY_FIELDS = [
    {
        "name": "Priority",  # names vary in case
        "isPickList": True,
        "picklistValues": [
            value("1", "High", 2),
            value("2", "Medium", 3),
            value("3", "Low", 4),
            value("4", "Critical", 1),
            value("5", "Planned", 5),
            value("6", "Emergency (retired)", 0, active=False),
        ],
    },
    {"name": "title", "isPickList": False, "picklistValues": None},
]


def test_levels_follow_sort_order_not_ids() -> None:
    priority = parse_picklists(PRIORITY_FIELDS)["priority"]
    levels = {v: priority.urgency_level(int(v)) for v in "123456"}
    assert levels == {"4": 1, "1": 2, "2": 3, "3": 4, "5": 4, "6": 1}
    assert priority.label(6) == "Emergency (retired)"  # inactive values still label
    assert priority.label(99) is None and priority.urgency_level(None) is None


async def test_metadata_is_fetched_once_per_max_age() -> None:
    calls: list[str] = []
    now = [0.0]

    async def fetch(entity: str) -> Sequence[Mapping[str, Any]]:
        calls.append(entity)
        return PRIORITY_FIELDS

    shared: dict[str, Any] = {}
    cache = PicklistCache(fetch, shared=shared, max_age=60, clock=lambda: now[0])
    await cache.picklist("Tickets", "priority")
    await PicklistCache(fetch, shared=shared, clock=lambda: now[0]).picklist("Tickets", "title")
    assert calls == ["Tickets"]  # a second connector of the source reuses it
    now[0] = 61
    assert (await cache.picklist("Tickets", "PRIORITY")).label(4) == "Critical"
    assert calls == ["Tickets", "Tickets"]
