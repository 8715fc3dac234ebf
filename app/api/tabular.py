"""CSV for list endpoints: `Accept: text/csv` (or `?format=csv`) gets the same rows as CSV.

Numbers stay numbers; text that a spreadsheet would run as a formula is neutralised. Moments
are ISO 8601 in UTC (`2026-12-02T04:53:44Z`, with a fraction of a second when there is one),
written exactly as the JSON answers and the OData feed write them; days are `YYYY-MM-DD`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response

CSV_MEDIA_TYPE = "text/csv"

# The `format` query parameter of every list endpoint, and its OpenAPI response entry.
CsvFormat = Annotated[
    Literal["json", "csv"] | None,
    Query(description="`csv` for a CSV file (or send `Accept: text/csv`)."),
]
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {CSV_MEDIA_TYPE: {}}}}


def wants_csv(request: Request, format_: str | None = None) -> bool:
    if format_ is not None:
        return format_.lower() == "csv"
    accept = request.headers.get("accept", "")
    return CSV_MEDIA_TYPE in accept and "application/json" not in accept


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV
# Injection"); tab and carriage return too, as some programs strip them first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def neutralise_formula(text: str) -> str:
    """`text` as a spreadsheet shows it, never as a formula: a text cell that starts like a
    formula gets a leading `'`. A plain number written as text (`-3.5`) is left alone."""
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def iso_instant(moment: datetime) -> str:
    """`moment` in UTC, ISO 8601 with `Z`. A naive moment is one Northstar stored in UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, int):
        return value
    return neutralise_formula(str(value))


def csv_response(rows: Iterable[Mapping[str, Any]], columns: list[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return Response(
        buffer.getvalue(),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
