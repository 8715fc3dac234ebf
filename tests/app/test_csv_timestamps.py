"""Issue 16: CSV moments are ISO 8601 in UTC (`2026-12-02T04:53:44Z`), the same text as the
JSON answer, and days are YYYY-MM-DD, so Power Query and spreadsheets read them as dates."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from app.api.tabular import csv_response

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
DAY = re.compile(r"\d{4}-\d\d-\d\d")


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_objective_moments_read_as_in_json(api: Any) -> None:
    api.client.post("/api/v1/objectives", headers=api.admin, json={"title": "Grow"})

    [row] = csv_rows(api.client.get("/api/v1/objectives?format=csv", headers=api.read))
    [as_json] = api.client.get("/api/v1/objectives", headers=api.read).json()

    for column in ("created_at", "updated_at"):
        assert ISO_UTC.fullmatch(row[column]), row[column]
        assert row[column] == as_json[column]


def test_goal_and_check_in_days_and_moments(api: Any) -> None:
    objective = api.client.post(
        "/api/v1/objectives", headers=api.admin, json={"title": "Grow"}
    ).json()
    api.client.post(
        "/api/v1/check-ins",
        headers=api.admin,
        json={"objective_id": objective["id"], "confidence": 7, "date": "2026-11-30"},
    )

    [row] = csv_rows(api.client.get("/api/v1/check-ins?format=csv", headers=api.read))

    assert row["date"] == "2026-11-30"
    assert ISO_UTC.fullmatch(row["created_at"]), row["created_at"]


@pytest.mark.anyio
async def test_source_coverage_and_sync_moments(api: Any) -> None:
    await api.setup.context.runner.sync_source(api.setup.source_id, trigger="cli")

    [source] = csv_rows(api.client.get("/api/v1/sources?format=csv", headers=api.read))
    runs = csv_rows(
        api.client.get(f"/api/v1/sources/{api.setup.source_id}/runs?format=csv", headers=api.read)
    )

    for column in ("created_at", "updated_at", "synced_until"):
        assert ISO_UTC.fullmatch(source[column]), (column, source[column])
    assert DAY.fullmatch(source["history_from"]) or source["history_from"] == ""
    assert runs
    for run in runs:
        for column in ("started_at", "finished_at"):
            assert ISO_UTC.fullmatch(run[column]), (column, run[column])


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (datetime(2026, 12, 2, 4, 53, 44, tzinfo=UTC), "2026-12-02T04:53:44Z"),
        (datetime(2026, 12, 2, 4, 53, 44, 529048, tzinfo=UTC), "2026-12-02T04:53:44.529048Z"),
        # Another offset is turned to UTC; a naive moment is one stored in UTC.
        (
            datetime(2026, 12, 1, 23, 53, 44, tzinfo=timezone(timedelta(hours=-5))),
            "2026-12-02T04:53:44Z",
        ),
        (datetime(2026, 12, 2, 4, 53, 44), "2026-12-02T04:53:44Z"),
        (date(2026, 12, 2), "2026-12-02"),
    ],
)
def test_each_moment_and_day_is_written_in_one_form(value: Any, written: str) -> None:
    response = csv_response([{"at": value}], ["at"], "x.csv")

    assert bytes(response.body).decode().splitlines()[1] == written
