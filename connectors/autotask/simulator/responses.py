"""The simulator's answers to `/{Entity}/query` (and `/query/next`, `/query/count`) and
`GET /{Entity}/{id}`, in Autotask's shapes.

Body keys are bound case-insensitively; MaxRecords outside 1..500 and unknown fields are
HTTP 500 `{"errors": [...]}`; `pageDetails.nextPageUrl` is absolute and opaque and must be
POSTed with the same body (GET: 405). Datetimes leave in UTC with `Z` and 0, 2, 3 or 7
fractional digits. Records changed by hand (`Tampering`) leave as changed: a field replaced,
or removed with `ABSENT`, so the connector meets the bad records real tenants hold.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from connectors.autotask.simulator.query import EntityTable, QueryError, Row

Answer = tuple[int, Any, dict[str, str]]
UDF_ENTITIES = frozenset({"Companies", "Tickets", "Contracts"})


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()  # a tampered field's value: leave the key out of the record


@dataclass
class Tampering:
    """Fields of served records replaced by hand, by (entity, id): what a bad integration
    or a data migration leaves in a tenant. Filters still see the true values."""

    by_row: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def set(self, entity: str, row_id: int, fields: Mapping[str, Any]) -> None:
        self.by_row.setdefault((entity, row_id), {}).update(fields)

    def apply(self, entity: str, out: dict[str, Any]) -> dict[str, Any]:
        changes = self.by_row.get((entity, int(out["id"])))
        if not changes:
            return out
        for name, value in changes.items():
            if value is ABSENT:
                out.pop(name, None)
            elif name in out or name == "id":
                out[name] = value
        return out


# Fractional digits a datetime may be sent with, by what its microseconds allow exactly.
_DIGITS_EXACT: tuple[tuple[int, ...], ...] = ((0, 2, 3, 7), (2, 3, 7), (3, 7), (7,))


def format_datetime(value: datetime, salt: int, *, date_only: bool) -> str:
    """UTC with `Z` and 0, 2, 3 or 7 fractional digits, never losing precision."""
    micro = value.microsecond
    if date_only or micro == 0:
        digits = _DIGITS_EXACT[0]
    elif micro % 10_000 == 0:
        digits = _DIGITS_EXACT[1]
    else:
        digits = _DIGITS_EXACT[2] if micro % 1000 == 0 else _DIGITS_EXACT[3]
    return _formatted(value, digits[salt % len(digits)])


@functools.lru_cache(maxsize=1 << 16)
def _formatted(value: datetime, chosen: int) -> str:
    # Cached: a page of service units or SLA rows repeats the same period dates many times,
    # and formatting was a third of the time the simulator spent on a page.
    micro = value.microsecond
    text = value.isoformat(timespec="seconds")[:19]  # the stored values are UTC already
    if chosen == 7:
        return f"{text}.{micro:06d}0Z"
    if chosen:
        return f"{text}{f'.{micro:06d}'[: chosen + 1]}Z"
    return text + "Z"


_TEMPORAL_KINDS = ("datetime", "date")


def _projection(
    table: EntityTable, include: tuple[str, ...] | None
) -> tuple[list[str], list[tuple[int, str, bool]]]:
    """The names a row is sent with, and (position, name, date only) of those that are dates
    or datetimes: worked out once per table and field list (kept on the table), not for
    every row."""
    known = table.projections.get(include)
    if known is None:
        names = ["id", *(n for n in include if n != "id")] if include else list(table.fields)
        temporal = [
            (offset, name, table.fields[name] == "date")
            for offset, name in enumerate(names)
            if table.fields[name] in _TEMPORAL_KINDS
        ]
        known = table.projections[include] = (names, temporal)
    return known


def project(
    table: EntityTable, row: Row | None, include: list[str] | None, tampering: Tampering
) -> Any:
    """A row as the API sends it: the included fields (all when None), `id` first."""
    if row is None:
        return None
    names, temporal = _projection(table, tuple(include) if include else None)
    salt = int(row[0])
    out = table.as_dict(row, names)
    for offset, name, date_only in temporal:
        value = out[name]
        if isinstance(value, datetime):
            out[name] = format_datetime(value, salt + offset, date_only=date_only)
        elif isinstance(value, date):
            out[name] = value.isoformat() + "T00:00:00Z"
    if table.entity in UDF_ENTITIES:
        out["userDefinedFields"] = []
    return tampering.apply(table.entity, out)


@dataclass
class QueryRoute:
    """`/{Entity}/query…` over one table. `record_body` sees every parsed body, `served`
    counts rows served and next-page calls (the simulator's stats)."""

    zone_url: Callable[[], str]  # the zone may move (`AutotaskSimulator.move_zone`)
    tampering: Tampering
    record_body: Callable[[str, dict[str, Any]], None]
    served: Callable[[str, int, bool], None]

    def answer(
        self, method: str, table: EntityTable, rest: list[str], params: dict[str, str], body: bytes
    ) -> Answer:
        if method == "GET":
            if "search" not in params:
                if rest == ["next"]:
                    message = "The requested resource does not support http method 'GET'."
                    return 405, {"Message": message}, {}
                raise QueryError("The search parameter is required.")
            raw_query = params["search"]
        elif method == "POST":
            raw_query = body.decode() or "{}"
        else:
            message = f"The requested resource does not support http method '{method}'."
            return 405, {"Message": message}, {}
        try:
            request = json.loads(raw_query)
        except ValueError as exc:
            raise QueryError("The query body is not valid JSON.") from exc
        keys = {str(k).lower(): v for k, v in request.items()} if isinstance(request, dict) else {}
        self.record_body(table.entity, dict(request) if isinstance(request, dict) else {})
        items = keys.get("filter") or []
        if not isinstance(items, list):
            raise QueryError("filter must be a list.")
        if rest == ["count"]:
            return 200, {"queryCount": len(table.select(items, limit=None))}, {}
        max_records = keys.get("maxrecords", 500)
        if (
            isinstance(max_records, bool)
            or not isinstance(max_records, int)
            or not 1 <= max_records <= 500
        ):
            raise QueryError("maxCountOfRecordsToReturn must be between 1 and 500")
        include = keys.get("includefields") or None
        include_names = [table.field(name) for name in include] if include else None
        after_id: int | None = None
        first_page = rest != ["next"]
        if not first_page:
            token = json.loads(params.get("paging", "{}"))
            after_id = int(token["nextIds"][0]) - 1
        rows = table.select(items, limit=max_records + 1, after_id=after_id)
        page, more = rows[:max_records], len(rows) > max_records
        page_details = {
            "count": len(page),
            "requestCount": max_records,
            "prevPageUrl": None
            if first_page or not page
            else self._page_url(table, page[0], max_records, params, back=True),
            "nextPageUrl": self._page_url(table, rows[max_records], max_records, params)
            if more
            else None,
        }
        items_out = [project(table, row, include_names, self.tampering) for row in page]
        self.served(table.entity, len(items_out), not first_page)
        return 200, {"items": items_out, "pageDetails": page_details}, {}

    def _page_url(
        self, table: EntityTable, row: Row, size: int, params: dict[str, str], *, back: bool = False
    ) -> str:
        token = {
            "pageSize": size,
            "previousIds": [] if not back else [row[0]],
            "nextIds": [] if back else [row[0]],
        }
        direction = "prev" if back else "next"
        url = f"{self.zone_url()}V1.0/{table.entity}/query/{direction}"
        url += f"?paging={quote(json.dumps(token))}"
        if "search" in params:
            url += f"&search={quote(params['search'])}"
        return url
