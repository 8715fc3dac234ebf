"""Combined scopes beyond the KPI series: goals scoped by a pair, and the OData value sets'
pair rows, agree with `GET /api/v1/kpis/{key}/values` given the same two filters.

The hand-made world of tests/kpi_world.py: in January 2025 (New York time) client c1 has
T1 on the Service board and T3 on Projects, and T2 (client c2) is on Service too, so c1 on
Service created 1 ticket while c1 alone created 2 and Service alone 2.
"""

from __future__ import annotations

from typing import Any

PAIR_ROW_SCOPES = (
    "client+technician",
    "client+board",
    "client+priority",
    "technician+board",
    "technician+priority",
    "board+priority",
)


def rest_value(api: Any, kpi: str, start: str, end: str, **scope: Any) -> Any:
    response = api.client.get(
        f"/api/v1/kpis/{kpi}/values",
        params={"grain": "month", "from": start, "to": end, **scope},
        headers=api.read,
    )
    assert response.status_code == 200, response.text
    (value,) = response.json()["values"]
    return value


def post(api: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.post(f"/api/v1{url}", headers=api.admin, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def pair_goal(api: Any) -> dict[str, Any]:
    objective = post(api, "/objectives", {"title": "Calmer service for c1"})
    return post(
        api,
        "/goals",
        {
            "objective_id": objective["id"],
            "title": "Fewer c1 tickets on Service",
            "kpi": "tickets_created",
            "kind": "decrease",
            "target": 0,
            "scope": {"client": "c1", "board": "Service", "source": 1},
            "start_date": "2025-02-01",
            "due_date": "2025-06-30",
        },
    )


def test_a_goal_scoped_by_a_pair_takes_its_baseline_from_the_pair(kpi_source: Any) -> None:
    goal = pair_goal(kpi_source)

    assert (goal["baseline"], goal["baseline_computed"], goal["scope"]["board"]) == (
        1.0,
        True,
        "Service",
    )


def test_a_goal_scoped_by_a_pair_is_judged_on_the_pair_series(kpi_source: Any) -> None:
    goal = pair_goal(kpi_source)
    february = rest_value(
        kpi_source,
        "tickets_created",
        "2025-02-01",
        "2025-03-01",
        client="c1",
        board="Service",
        source=1,
    )

    response = kpi_source.client.get(
        f"/api/v1/goals/{goal['id']}/alignment",
        params={"as_of": "2025-03-15"},
        headers=kpi_source.read,
    )

    assert response.status_code == 200, response.text
    judged = response.json()
    assert (judged["window"]["start"], judged["current_value"]) == (
        "2025-02-01",
        february["value"],
    )


def test_a_goal_refuses_a_pair_its_kpi_cannot_be_split_by(kpi_source: Any) -> None:
    objective = post(kpi_source, "/objectives", {"title": "Busy technicians"})
    response = kpi_source.client.post(
        "/api/v1/goals",
        headers=kpi_source.admin,
        json={
            "objective_id": objective["id"],
            "title": "Utilisation on Service",
            "kpi": "utilization_pct",
            "kind": "band",
            "low": 70,
            "high": 80,
            "scope": {"technician": "t1", "board": "Service", "source": 1},
            "start_date": "2025-02-01",
            "due_date": "2025-06-30",
        },
    )

    assert response.status_code == 422
    refusal = response.json()
    assert (refusal["code"], refusal["details"][0]["field"]) == (
        "scope_combination_not_supported",
        "body.scope",
    )


def odata_rows(api: Any, kpi: str) -> list[dict[str, Any]]:
    scopes = " or ".join(f"Scope eq '{s}'" for s in PAIR_ROW_SCOPES)
    response = api.client.get(
        "/odata/KpiMonthlyValues",
        params={"$filter": f"KpiKey eq '{kpi}' and ({scopes})"},
        headers=api.read,
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["value"]
    return rows


def rest_filters(row: dict[str, Any]) -> dict[str, Any]:
    """The REST filters of an OData pair row: the two scope columns it sets, and its source."""
    filters = {
        "client": row["ClientId"],
        "technician": row["TechnicianId"],
        "board": row["Board"],
        "priority": row["Priority"],
        "source": row["SourceId"],
    }
    return {name: value for name, value in filters.items() if value is not None}


def test_the_odata_pair_rows_agree_with_the_rest_api(kpi_source: Any) -> None:
    compared = []
    for kpi in ("tickets_created", "sla_response_pct", "hours_logged"):
        for row in odata_rows(kpi_source, kpi):
            start, end = row["Date"], row["PeriodEnd"]
            rest = rest_value(kpi_source, kpi, start, end, **rest_filters(row))
            compared.append(
                (kpi, row["Scope"], start, row["Value"], row["SampleSize"])
                == (kpi, row["Scope"], start, rest["value"], rest["sample_size"])
            )
    assert len(compared) >= 20 and all(compared)


def test_every_pair_scope_has_rows_and_every_row_its_own_id(kpi_source: Any) -> None:
    rows = odata_rows(kpi_source, "tickets_created")

    assert {r["Scope"] for r in rows} == set(PAIR_ROW_SCOPES)
    assert len({r["Id"] for r in rows}) == len(rows)


def test_an_odata_pair_row_sets_both_its_scope_columns(kpi_source: Any) -> None:
    rows = odata_rows(kpi_source, "tickets_created")
    c1_p1 = [
        r
        for r in rows
        if r["Scope"] == "client+priority" and r["Priority"] == "P1" and r["Date"] == "2025-01-01"
    ]

    assert [(r["ClientId"] is not None, r["Board"], r["Value"]) for r in c1_p1] == [
        (True, None, 1.0)
    ]


def test_the_goals_feed_names_both_scopes_of_a_pair_goal(kpi_source: Any) -> None:
    goal = pair_goal(kpi_source)

    response = kpi_source.client.get(f"/odata/Goals({goal['id']})", headers=kpi_source.read)

    assert response.status_code == 200, response.text
    row = response.json()
    assert (
        row["ScopeDimension"],
        row["ScopeMember"],
        row["ScopeSecondDimension"],
        row["ScopeSecondMember"],
    ) == ("client", "c1", "board", "Service")
