"""Values that used to be accepted and break reads later, ids past 64 bits, dates at the
ends of the calendar, and OData filters too complex to run (issue 15, defects 5 to 8): each
is a clear 4xx that says the range or limit, never a 500, and what lies within the ranges
can be read back everywhere."""

from __future__ import annotations

from typing import Any

import pytest

HUGE = "99999999999999999999"  # past 2**63 - 1
PAST_INTEGER = "2147483648"  # past 2**31 - 1, the largest id PostgreSQL's INTEGER holds
DATE_WORDS = "2000-01-01 to 2100-12-31"


@pytest.fixture
def edge_plan(api: Any) -> Any:
    """A plan at the very edges of what Northstar takes: a goal over the whole date window,
    judged by year, and a manual KPI observed at the largest value on the last day."""
    client, admin = api.client, api.admin
    objective = client.post("/api/v1/objectives", headers=admin, json={"title": "Edges"})
    kpi = client.post(
        "/api/v1/kpis", headers=admin, json={"key": "edge_pulse", "name": "Edge pulse"}
    )
    observed = client.post(
        "/api/v1/kpis/edge_pulse/observations",
        headers=admin,
        json=[
            {"date": "2000-01-01", "value": -1e12},
            {"date": "2100-12-31", "value": 1e12},
        ],
    )
    goal = client.post(
        "/api/v1/goals",
        headers=admin,
        json={
            "objective_id": objective.json()["id"],
            "title": "Whole window",
            "kpi": "edge_pulse",
            "kind": "stay_above",
            "target": 1e12,
            "start_date": "2000-01-01",
            "due_date": "2100-12-31",
            "evaluation_grain": "year",
            "weight": 1e6,
        },
    )
    for response in (objective, kpi, goal):
        assert response.status_code == 201, response.text
    assert observed.status_code == 200, observed.text
    return api


def assert_refused(response: Any, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    error = body.get("error", body)
    assert error["code"] == code, body
    for word in words:
        assert word in error["message"], error["message"]


# ---- 5: write-time ranges ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"date": "9999-11-01", "value": 5}], "body.0.date"),
        ({"date": "0001-01-01", "value": 5}, "body.date"),
    ],
)
def test_an_observation_dated_outside_the_window_is_refused(
    edge_plan: Any, body: Any, field: str
) -> None:
    response = edge_plan.client.post(
        "/api/v1/kpis/edge_pulse/observations", headers=edge_plan.admin, json=body
    )

    assert_refused(response, 422, "date_out_of_range", DATE_WORDS)
    assert response.json()["details"][0]["field"] == field


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/alignment",
        "/api/v1/goals/1/alignment",
        "/api/v1/reviews/2000-Q1",
        "/api/v1/kpis/edge_pulse/values?grain=year&from=2000-01-01&to=2100-12-31",
        "/api/v1/kpis/edge_pulse/values?grain=day&from=2100-12-01&to=2100-12-31",
        "/api/v1/kpis/tickets_closed/breakdown?by=client&period=2100-12",
        "/api/v1/kpis/tickets_closed/breakdown?by=client&period=2000-W01",
        "/api/v1/check-ins?from=2000-01-01&to=2100-12-31",
        "/metrics",
        "/odata/Goals",
        "/odata/Objectives",
    ],
)
def test_values_at_the_edges_of_the_ranges_read_back_everywhere(edge_plan: Any, url: str) -> None:
    response = edge_plan.client.get(url, headers=edge_plan.read)

    assert response.status_code == 200, response.text


def test_the_scorecard_page_shows_a_plan_at_the_edges(edge_plan: Any) -> None:
    key = edge_plan.read["X-API-Key"]
    edge_plan.client.cookies.set("northstar_key", key)

    response = edge_plan.client.get("/")

    assert response.status_code == 200
    assert "Whole window" in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"title": "x", "weight": 1e400}', "body.weight"),
        (b'{"title": "x", "weight": 1e7}', "body.weight"),
        (f'{{"title": "x", "parent_id": {HUGE}}}'.encode(), "body.parent_id"),
    ],
)
def test_objective_numbers_out_of_range_are_refused(api: Any, body: bytes, field: str) -> None:
    response = api.client.post(
        "/api/v1/objectives",
        headers={**api.admin, "Content-Type": "application/json"},
        content=body,
    )

    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == field
    assert api.client.get("/odata/Objectives", headers=api.read).json()["value"] == []


# ---- 6: integers past 64 bits -----------------------------------------------------------


@pytest.mark.parametrize("number", [HUGE, PAST_INTEGER], ids=["past-64-bits", "past-32-bits"])
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/goals/{n}",
        "/api/v1/goals/{n}/alignment",
        "/api/v1/goals/{n}/milestones",
        "/api/v1/objectives/{n}",
        "/api/v1/check-ins/{n}",
        "/api/v1/goals?objective_id={n}",
        "/api/v1/objectives?parent_id={n}",
        "/api/v1/check-ins?goal_id={n}",
        "/api/v1/kpis/tickets_closed/values?source={n}",
        "/api/v1/kpis/tickets_closed/breakdown?by=client&period=2025-11&source={n}",
        "/api/v1/sources/{n}",
        "/api/v1/sources/{n}/runs",
    ],
)
def test_an_id_past_what_the_database_holds_is_a_422_never_a_500(
    api: Any, url: str, number: str
) -> None:
    response = api.client.get(url.format(n=number), headers=api.read)

    if url.startswith("/api/v1/sources") and response.status_code == 404:
        return  # their routes take any id; what no database holds is simply not there
    assert response.status_code == 422, response.text
    assert "2147483647" in response.json()["message"]


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/goals", {"objective_id": int(HUGE)}, "body.objective_id"),
        ("/api/v1/check-ins", {"goal_id": int(HUGE), "confidence": 5}, "body.goal_id"),
        (f"/api/v1/goals/{HUGE}/milestones", {"due_date": "2025-06-30"}, "path.goal_id"),
        (
            "/api/v1/kpis/nps/observations",
            [{"date": "2025-06-30", "value": int(HUGE)}],
            "body.0.value",
        ),
    ],
)
def test_an_id_or_number_past_64_bits_in_a_request_is_a_422(
    api: Any, url: str, body: Any, field: str
) -> None:
    if "nps" in url:
        api.client.post("/api/v1/kpis", headers=api.admin, json={"key": "nps", "name": "NPS"})

    response = api.client.post(url, headers=api.admin, json=body)

    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["details"]}


@pytest.mark.parametrize("option", ["$skip", "$top", "$skiptoken"])
def test_an_odata_paging_number_past_64_bits_is_a_400(api: Any, option: str) -> None:
    response = api.client.get("/odata/Tickets", headers=api.read, params={option: HUGE})

    assert_refused(response, 400, "invalid_query_option", "9223372036854775807")


# ---- 7: dates at the ends of the calendar -------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/alignment?as_of=0001-01-01",
        "/api/v1/goals/1/alignment?as_of=0001-01-01",
        "/api/v1/kpis/tickets_closed/values?from=9999-11-01",
        "/api/v1/kpis/tickets_closed/values?from=2025-01-01&to=9999-12-31",
        "/api/v1/kpis/tickets_closed/breakdown?by=client&period=9999-12",
        "/api/v1/kpis/tickets_closed/breakdown?by=client&period=9999-W52",
        "/api/v1/kpis/tickets_closed/breakdown?by=client&period=0001",
        "/api/v1/reviews/0001-Q1",
        "/api/v1/check-ins?from=0001-01-01",
    ],
)
def test_a_date_outside_the_window_is_a_422_saying_the_window(api: Any, url: str) -> None:
    response = api.client.get(url, headers=api.read)

    assert_refused(response, 422, "date_out_of_range", DATE_WORDS)


@pytest.mark.parametrize("quarter", ["9999-Q4", "2101-Q1"])
def test_a_review_of_a_quarter_far_ahead_has_not_started(api: Any, quarter: str) -> None:
    response = api.client.get(f"/api/v1/reviews/{quarter}", headers=api.read)

    assert_refused(response, 422, "quarter_not_started", "has not started yet")


@pytest.mark.parametrize("as_of", ["0", "20251130", "1764460800", "30/11/2025"])
def test_a_day_must_be_written_as_a_date_not_a_timestamp(api: Any, as_of: str) -> None:
    response = api.client.get("/api/v1/alignment", headers=api.read, params={"as_of": as_of})

    assert_refused(response, 422, "invalid_date", "YYYY-MM-DD")


@pytest.mark.parametrize(
    "literal",
    [
        "9999-12-31T23:00:00-05:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
    ],
)
def test_an_odata_date_time_at_the_ends_of_the_calendar_is_a_400(api: Any, literal: str) -> None:
    response = api.client.get(
        "/odata/Tickets", headers=api.read, params={"$filter": f"CreatedAt gt {literal}"}
    )

    assert_refused(response, 400, "invalid_query_option", "0001-01-02 and 9999-12-30")


def test_an_odata_date_time_with_an_offset_near_the_ends_still_filters(api: Any) -> None:
    response = api.client.get(
        "/odata/Tickets",
        headers=api.read,
        params={
            "$filter": "CreatedAt gt 0001-01-03T00:00:00+05:00 and CreatedAt lt "
            "9999-12-29T00:00:00-05:00"
        },
    )

    assert response.status_code == 200, response.text


# ---- 8: OData filters too complex to run -------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("(" * 200 + "IsClosed eq true" + ")" * 200, "at most 32 levels"),
        ("not " * 200 + "IsClosed", "at most 32 levels"),
        ("year(" * 40 + "CreatedAt" + ")" * 40 + " eq 2025", "at most 32 levels"),
        (" or ".join(["Number eq 'x'"] * 1000), "at most 500 conditions"),
    ],
    ids=["200-brackets", "200-nots", "40-functions", "1000-terms"],
)
def test_a_filter_too_complex_is_a_400_saying_the_limit(
    api: Any, expression: str, words: str
) -> None:
    response = api.client.get("/odata/Tickets", headers=api.read, params={"$filter": expression})

    assert_refused(response, 400, "filter_too_complex", words)


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 30 + "IsClosed eq true" + ")" * 30,
        " or ".join(f"Number eq '{n}'" for n in range(499)),
        " and ".join(["not IsClosed"] * 250),
    ],
    ids=["30-brackets", "499-terms", "250-nots"],
)
def test_a_filter_within_the_limits_runs(api: Any, expression: str) -> None:
    response = api.client.get("/odata/Tickets", headers=api.read, params={"$filter": expression})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("as_of", "code"),
    [
        ("0001-01-01", "date_out_of_range"),
        ("9999-12-31", "date_out_of_range"),
        ("0", "invalid_date"),
    ],
)
def test_metrics_refuse_days_outside_the_window(api: Any, as_of: str, code: str) -> None:
    answer = api.client.get(f"/metrics?as_of={as_of}", headers=api.read)
    assert answer.status_code == 422
    assert answer.json()["code"] == code
