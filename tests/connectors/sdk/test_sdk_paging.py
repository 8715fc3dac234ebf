"""Keyset paging and id ranges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from connectors.sdk import FatalError, id_ranges, keyset_pages

pytestmark = pytest.mark.anyio

ROWS = [{"id": i} for i in (2, 3, 5, 8, 13, 21, 34)]


async def fetch(after: int | None, size: int) -> Sequence[dict[str, Any]]:
    return [r for r in ROWS if after is None or r["id"] > after][:size]


async def test_keyset_pages_reads_every_row_once_and_resumes() -> None:
    pages = [(list(rows), last) async for rows, last in keyset_pages(fetch, page_size=3)]

    assert [[r["id"] for r in rows] for rows, _ in pages] == [[2, 3, 5], [8, 13, 21], [34]]
    assert [last for _, last in pages] == [5, 21, 34]
    resumed = [
        r["id"] async for rows, _ in keyset_pages(fetch, after_id=21, page_size=3) for r in rows
    ]
    assert resumed == [34]


async def test_a_vendor_that_ignores_the_id_filter_is_caught() -> None:
    async def stuck(after: int | None, size: int) -> Sequence[dict[str, Any]]:
        return ROWS[:size]

    with pytest.raises(FatalError, match="did not move forward"):
        async for _ in keyset_pages(stuck, page_size=3):
            pass


def test_id_ranges_cover_the_span_exactly() -> None:
    ranges = id_ranges(1, 10, 3)

    assert ranges == [(0, 4), (4, 7), (7, 10)]
    assert id_ranges(5, 6, 8) == [(4, 5), (5, 6)]
    assert id_ranges(9, 1, 3) == []
