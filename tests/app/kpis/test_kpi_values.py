"""Every KPI of the catalogue on hand-checkable facts (tests/kpi_world.py), through the API."""

from __future__ import annotations

from typing import Any

import pytest

from app.kpis.catalogue import CATALOGUE

JAN, FEB, MAR = "2025-01-01", "2025-02-01", "2025-03-01"
APR = "2025-04-01"

# (kpi, query, expected values for Jan, Feb, Mar 2025), worked out by hand in kpi_world.py.
MONTHLY: list[tuple[str, dict[str, str], list[float | None]]] = [
    ("tickets_created", {}, [3, 1, 0]),  # T2 counts in January: New York time
    ("tickets_closed", {}, [2, 1, 0]),
    ("open_backlog", {}, [1, 1, 1]),  # T2 stays open
    ("sla_response_pct", {}, [100.0, 50.0, None]),  # Feb: T2 missed, T4 met
    ("sla_resolution_pct", {}, [100.0, 0.0, None]),  # Jan: T3 has no SLA, T1 met
    ("avg_response_hours", {}, [1.0, 1.25, None]),  # Feb: (2 h + 0.5 h) / 2
    ("avg_resolution_hours", {}, [62.0, 48.0, None]),  # Jan: (4 h + 120 h) / 2
    ("csat_pct", {}, [100.0, 0.0, None]),
    ("csat_avg", {}, [100.0, 50.0, None]),
    ("hours_logged", {}, [14.0, 6.0, 0.0]),
    # Jan: t1 4 h (its 2 h internal do not count) + inactive t2 3 h, over 2 × 23 × 8 h.
    # t3 is not included. Feb: t1 only (t2 logged nothing), 6 h over 20 × 8 h.
    ("utilization_pct", {}, [100 * 7 / 368, 100 * 6 / 160, 0.0]),
    ("billable_utilization_pct", {}, [100 * 4 / 368, 100 * 3 / 160, 0.0]),
    ("tickets_closed_per_technician", {}, [1.0, 1.0, 0.0]),
    ("mrr", {}, [1500.0, 1000.0, 1000.0]),
    ("arr_run_rate", {}, [18000.0, 12000.0, 12000.0]),
    ("recurring_revenue_per_technician", {}, [1500.0, 1000.0, 1000.0]),
    # Revenue ÷ client-facing hours (4 + 3 + 5 in Jan; 6 in Feb; none in Mar).
    ("effective_hourly_rate", {}, [1500 / 12, 1000 / 6, None]),
    ("tickets_created", {"priority": "P1"}, [1, 0, 0]),
    ("tickets_created", {"priority": "Normal"}, [1, 1, 0]),
    ("tickets_created", {"board": "Projects"}, [1, 0, 0]),
    ("sla_response_pct", {"board": "Service"}, [100.0, 50.0, None]),
    ("hours_logged", {"board": "Service"}, [7.0, 6.0, 0.0]),  # via the entries' tickets
    ("csat_avg", {"technician": "t1", "source": "1"}, [100.0, 50.0, None]),
    ("utilization_pct", {"technician": "t2", "source": "1"}, [100 * 3 / 184, None, None]),
    ("utilization_pct", {"technician": "t3", "source": "1"}, [None, None, None]),
    ("mrr", {"client": "c2", "source": "1"}, [500.0, 0.0, 0.0]),
    ("effective_hourly_rate", {"client": "c1", "source": "1"}, [1000 / 9, None, None]),
    ("tickets_closed_per_technician", {"technician": "t1", "source": "1"}, [1.0, 1.0, 0.0]),
]


@pytest.fixture
def kpi_api(kpi_source: Any) -> Any:
    return kpi_source


def values(
    api: Any,
    key: str,
    query: dict[str, str],
    grain: str = "month",
    start: str = JAN,
    end: str = APR,
) -> list[Any]:
    response = api.client.get(
        f"/api/v1/kpis/{key}/values",
        params={"grain": grain, "from": start, "to": end, **query},
        headers=api.read,
    )
    assert response.status_code == 200, response.text
    return response.json()["values"]


@pytest.mark.parametrize(
    ("key", "query", "expected"),
    MONTHLY,
    ids=[f"{k}-{'-'.join(q.values()) or 'all'}" for k, q, _ in MONTHLY],
)
def test_monthly_values_match_the_hand_computed_ones(
    kpi_api: Any, key: str, query: dict[str, str], expected: list[float | None]
) -> None:
    got = [row["value"] for row in values(kpi_api, key, query)]

    assert got == [pytest.approx(v) if v is not None else None for v in expected]


def test_every_catalogue_kpi_is_covered_by_the_table() -> None:
    assert {k for k, _, _ in MONTHLY} == {kpi.key for kpi in CATALOGUE}


def test_periods_are_local_days_in_the_reporting_time_zone(kpi_api: Any) -> None:
    rows = values(kpi_api, "tickets_created", {}, grain="day", start="2025-01-31", end="2025-02-02")

    assert [(r["period_start"], r["value"]) for r in rows] == [
        ("2025-01-31", 1.0),
        ("2025-02-01", 0.0),
    ]


def test_a_quarter_rolls_up_exactly(kpi_api: Any) -> None:
    (q1,) = values(kpi_api, "sla_response_pct", {}, grain="quarter", start=JAN, end=APR)

    assert q1["value"] == pytest.approx(100 * 2 / 3)
    assert (q1["numerator"], q1["denominator"], q1["sample_size"]) == (2.0, 3.0, 3)


def test_rows_carry_numerator_denominator_and_sample(kpi_api: Any) -> None:
    jan = values(kpi_api, "utilization_pct", {}, start=JAN, end=FEB)[0]

    assert jan == {
        "period_start": JAN,
        "period_end": FEB,
        "value": pytest.approx(100 * 7 / 368),
        "numerator": 7.0,
        "denominator": 368.0,
        "sample_size": 2,
        "partial": False,
        "reason": None,
    }


def test_csv_gives_the_same_rows(kpi_api: Any) -> None:
    response = kpi_api.client.get(
        "/api/v1/kpis/tickets_created/values",
        params={"from": JAN, "to": MAR},
        headers={**kpi_api.read, "Accept": "text/csv"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines() == [
        "period_start,period_end,value,numerator,denominator,sample_size,partial,reason",
        "2025-01-01,2025-02-01,3.0,3.0,,3,false,",
        "2025-02-01,2025-03-01,1.0,1.0,,1,false,",
    ]


@pytest.mark.parametrize(
    ("key", "query", "code"),
    [
        ("mrr", {"technician": "t1", "source": "1"}, "scope_not_supported"),
        ("utilization_pct", {"client": "c1", "source": "1"}, "scope_not_supported"),
        ("mrr", {"grain": "day"}, "grain_not_supported"),
        (
            "tickets_created",
            {"client": "c1", "board": "Service", "priority": "P1", "source": "1"},
            "too_many_scopes",
        ),
    ],
)
def test_unsupported_scopes_and_grains_are_a_clear_400(
    kpi_api: Any, key: str, query: dict[str, str], code: str
) -> None:
    response = kpi_api.client.get(
        f"/api/v1/kpis/{key}/values",
        params={"from": JAN, "to": FEB, **query},
        headers=kpi_api.read,
    )

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_an_unknown_kpi_is_a_404(kpi_api: Any) -> None:
    response = kpi_api.client.get("/api/v1/kpis/happiness/values", headers=kpi_api.read)

    assert response.status_code == 404
    assert response.json()["code"] == "kpi_not_found"


def test_a_reversed_range_is_a_422(kpi_api: Any) -> None:
    response = kpi_api.client.get(
        "/api/v1/kpis/mrr/values", params={"from": FEB, "to": JAN}, headers=kpi_api.read
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_date_range"


def test_the_catalogue_serves_every_definition(kpi_api: Any) -> None:
    catalogue = kpi_api.client.get("/api/v1/kpis", headers=kpi_api.read).json()

    assert [k["key"] for k in catalogue] == [kpi.key for kpi in CATALOGUE]
    mrr = kpi_api.client.get("/api/v1/kpis/mrr", headers=kpi_api.read).json()
    assert mrr["grains"] == ["month", "quarter", "year"]
    assert mrr["scopes"] == ["source", "client"]
    assert "last day of the period" in mrr["definition"]


def test_breakdown_by_client_lists_each_client_sorted(kpi_api: Any) -> None:
    response = kpi_api.client.get(
        "/api/v1/kpis/tickets_created/breakdown",
        params={"by": "client", "period": "2025-01"},
        headers=kpi_api.read,
    )

    assert response.status_code == 200
    rows = [(r["name"], r["external_id"], r["value"]) for r in response.json()["rows"]]
    assert rows == [("Acme Dental", "c1", 2.0), ("Globex Logistics", "c2", 1.0)]


def test_breakdown_of_utilization_by_technician(kpi_api: Any) -> None:
    rows = kpi_api.client.get(
        "/api/v1/kpis/utilization_pct/breakdown",
        params={"by": "technician", "period": "2025-01"},
        headers=kpi_api.read,
    ).json()["rows"]

    assert [r["name"] for r in rows] == ["Ada Active", "Ian Inactive", "Noel NotCounted"]
    by_name = {r["name"]: r["value"] for r in rows}
    assert by_name["Ada Active"] == pytest.approx(100 * 4 / 184)
    assert by_name["Ian Inactive"] == pytest.approx(100 * 3 / 184)
    assert by_name["Noel NotCounted"] is None


def test_breakdown_of_mrr_by_client_and_sla_by_priority(kpi_api: Any) -> None:
    mrr = kpi_api.client.get(
        "/api/v1/kpis/mrr/breakdown",
        params={"by": "client", "period": "2025-01"},
        headers=kpi_api.read,
    ).json()["rows"]
    sla = kpi_api.client.get(
        "/api/v1/kpis/sla_response_pct/breakdown",
        params={"by": "priority", "period": "2025-Q1", "order": "asc"},
        headers=kpi_api.read,
    ).json()["rows"]

    assert [(r["name"], r["value"]) for r in mrr] == [
        ("Acme Dental", 1000.0),
        ("Globex Logistics", 500.0),
    ]
    # Lowest first, and P2 (no response in the quarter) last, without a value.
    assert [(r["key"], r["value"]) for r in sla] == [("P3", 50.0), ("P1", 100.0), ("P2", None)]


def test_breakdown_by_an_unsupported_dimension_is_a_400(kpi_api: Any) -> None:
    response = kpi_api.client.get(
        "/api/v1/kpis/mrr/breakdown",
        params={"by": "technician", "period": "2025-01"},
        headers=kpi_api.read,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "scope_not_supported"


def test_a_malformed_period_says_what_to_send(kpi_api: Any) -> None:
    response = kpi_api.client.get(
        "/api/v1/kpis/mrr/breakdown",
        params={"by": "client", "period": "Nov 2025"},
        headers=kpi_api.read,
    )

    assert response.status_code == 422
    assert "2025-Q4" in response.json()["message"]
