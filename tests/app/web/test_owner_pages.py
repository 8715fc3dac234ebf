"""The owner's pages rendered by the server: the overview, a goal's page and the KPI pages,
signed in by the page's cookie, in the alignment API's words, and every bad address a 4xx
page (never a 500)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from sqlalchemy import update

from app.api.deps import COOKIE_NAME
from app.sources.models import Source, SourceStatus
from tests.app.web.test_web_scorecard_page import plan_with_two_goals, sign_in


def _goals(api: Any) -> list[dict[str, Any]]:
    response = api.client.get("/api/v1/goals", headers=api.read)
    assert response.status_code == 200
    goals: list[dict[str, Any]] = response.json()
    return goals


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def signed_in(kpi_source: Any) -> Any:
    plan_with_two_goals(kpi_source)
    sign_in(kpi_source)
    return kpi_source


def test_the_overview_counts_statuses_and_shows_each_goal_with_its_chart(signed_in: Any) -> None:
    api = signed_in
    card = api.client.get("/api/v1/alignment", headers=api.read).json()
    page = api.client.get("/").text

    text = _text(page)
    assert "2 goals in 1 objectives" in text
    for objective in card["objectives"]:
        for goal in objective["goals"]:
            # The verdict and its sentence are the API's own.
            assert f"href='/goals/{goal['goal_id']}'" in page
            assert unescape(goal["reason"]) in text
            assert goal["status_words"] in text
    assert page.count("<figure class='chart") == 2  # one per goal (drawn, or "no values")
    assert "<svg class='only'" in page and "<title id='goal-" in page
    assert "Values as a table" in page and "<desc id=" in page
    assert "Latest check-in" in text or "No check-in yet." in text
    assert "last synced " in text and "UTC" in text
    assert "<script" not in page and " style=" not in page


def test_a_failing_source_is_a_visible_warning(signed_in: Any) -> None:
    api = signed_in
    with api.setup.context.db.session() as session:
        session.execute(
            update(Source).values(
                status=SourceStatus.NEEDS_ATTENTION,
                status_message="The PSA refused the API key: set a new one with PATCH.",
            )
        )

    text = _text(signed_in.client.get("/").text)

    assert "Failing: The PSA refused the API key" in text


def test_the_goal_page_shows_verdict_chart_milestones_check_ins_and_breakdown(
    signed_in: Any,
) -> None:
    api = signed_in
    goal = next(g for g in _goals(api) if g["kpi"] == "tickets_closed")
    alignment = api.client.get(f"/api/v1/goals/{goal['id']}/alignment", headers=api.read).json()

    page = api.client.get(f"/goals/{goal['id']}").text
    text = _text(page)

    assert alignment["status_words"] in text and unescape(alignment["reason"]) in text
    assert "<svg class='wide'" in page and "<svg class='narrow'" in page
    assert "New runbook" in text and "7/10" in text  # every check-in
    assert "Tickets with closed_at in the period" in text or "Definition" in text
    assert "Behind the number" in text and "by client" in text
    assert "Milestones" in text and "Check-ins" in text


def test_the_breakdown_ranks_only_members_with_enough_events(signed_in: Any) -> None:
    api = signed_in
    goal = next(g for g in _goals(api) if g["kpi"] == "sla_response_pct")

    page = api.client.get(f"/goals/{goal['id']}", params={"by": "client"}).text

    assert "id='drilldown'" in page and "aria-current='page'>by client" in page
    rows = re.findall(r"<tr><td>(\d+|—)</td><td>([^<]*)<", page.split("id='drilldown'")[1])
    assert rows, "the breakdown lists the clients"
    # The fake world's clients have a handful of tickets each: none is ranked "worst".
    assert all(rank == "—" for rank, _ in rows)
    assert "small sample (under 30)" in page


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/?as_of=yesterday", 422, "YYYY-MM-DD"),
        ("/?as_of=2099-01-01", 422, "is in the future"),
        ("/goals/abc", 422, "is not a goal's id"),
        ("/goals/0", 422, "is not a goal's id"),
        ("/goals/99999999999999", 422, "is not a goal's id"),
        ("/goals/9999", 404, "There is no goal"),
        ("/kpis/no_such_kpi", 404, "There is no KPI"),
        ("/kpis/sla_response_pct?grain=fortnight", 422, "is not one SLA response met is"),
        ("/kpis/mrr?grain=day", 422, "use one of month, quarter, year"),
        ("/kpis/sla_response_pct?from=yesterday", 422, "YYYY-MM-DD"),
        ("/kpis/sla_response_pct?from=2025-02-30", 422, "is not a real day"),
        ("/kpis/sla_response_pct?from=1900-01-01", 422, "outside the dates"),
        ("/kpis/sla_response_pct?from=2025-03-01&to=2025-01-01", 422, "must be after"),
        ("/kpis/sla_response_pct?grain=day&from=2000-01-01&to=2099-01-01", 422, "more than"),
        ("/kpis/sla_response_pct?source=-1", 422, "`source` must be"),
        ("/kpis/sla_response_pct?source=4242", 404, ""),
    ],
)
def test_bad_addresses_are_answered_with_a_4xx_page(
    signed_in: Any, path: str, status: int, words: str
) -> None:
    response = signed_in.client.get(path)

    assert response.status_code == status, response.text[-600:]
    assert response.headers["content-type"].startswith("text/html")
    assert words in _text(response.text)
    assert "Back to the overview" in response.text


def test_a_bad_breakdown_is_a_422_page(signed_in: Any) -> None:
    goal = _goals(signed_in)[0]

    response = signed_in.client.get(f"/goals/{goal['id']}", params={"by": "planet"})

    assert response.status_code == 422
    assert "is not a breakdown" in _text(response.text)


@pytest.mark.parametrize("path", ["/goals/1", "/kpis", "/kpis/sla_response_pct"])
def test_the_pages_need_a_signed_in_browser(kpi_source: Any, path: str) -> None:
    plan_with_two_goals(kpi_source)

    anonymous = kpi_source.client.get(path)
    kpi_source.client.cookies.set(COOKIE_NAME, "ns_not_a_key")
    wrong = kpi_source.client.get(path)

    assert anonymous.status_code == 200 and "action='/login'" in anonymous.text  # the form
    assert wrong.status_code == 401 and "no longer valid" in wrong.text
    assert "SLA response met" not in anonymous.text + wrong.text


def test_the_kpi_list_shows_every_catalogue_and_manual_kpi(signed_in: Any) -> None:
    api = signed_in
    api.client.post(
        "/api/v1/kpis",
        headers=api.admin,
        json={"key": "team_pulse", "name": "Team pulse", "unit": "score", "min": 1, "max": 10},
    )
    kpis = api.client.get("/api/v1/kpis", headers=api.read).json()

    page = api.client.get("/kpis").text

    assert len(kpis) > 10
    for kpi in kpis:
        assert f"href='/kpis/{kpi['key']}'" in page
    assert "Team pulse" in page and "manual" in page


def test_a_kpi_page_links_to_the_csv_of_the_same_numbers(signed_in: Any) -> None:
    api = signed_in
    query = {"grain": "month", "from": "2025-01-01", "to": "2025-04-01"}
    series = api.client.get(
        "/api/v1/kpis/tickets_created/values", headers=api.read, params=query
    ).json()

    page = api.client.get("/kpis/tickets_created", params=query).text
    csv_link = unescape(re.search(r"href='([^']*format=csv[^']*)'>These numbers", page)[1])  # type: ignore[index]
    odata_link = unescape(re.search(r"href='(/odata/KpiMonthly[^']*)'", page)[1])  # type: ignore[index]
    downloaded = api.client.get(csv_link)

    assert downloaded.status_code == 200 and "text/csv" in downloaded.headers["content-type"]
    rows = list(csv.DictReader(io.StringIO(downloaded.text)))
    assert [float(r["value"]) for r in rows] == [v["value"] for v in series["values"]]
    table = page.split("<tbody>")[1]
    for value in series["values"]:
        assert f"<td>{value['value']:g}</td>" in table
    feed = api.client.get(odata_link, headers=api.read)
    assert feed.status_code == 200, feed.text
    months = {r["Date"][:7] for r in feed.json()["value"]}
    assert months and months <= {"2025-01", "2025-02", "2025-03"}  # the rows of the same range
    assert "Tickets created" in page and "Measured from your PSA data" in page


def test_a_manual_kpi_page_has_its_values_and_no_odata_rows(signed_in: Any) -> None:
    api = signed_in
    api.client.post(
        "/api/v1/kpis",
        headers=api.admin,
        json={"key": "team_pulse", "name": "Team pulse", "unit": "score", "min": 1, "max": 10},
    )
    today = datetime.now(UTC).date().isoformat()
    api.client.post(
        "/api/v1/kpis/team_pulse/observations",
        headers=api.admin,
        json={"date": today, "value": 7},
    )

    page = api.client.get("/kpis/team_pulse").text

    assert "Manual: values recorded with POST /api/v1/kpis/team_pulse/observations" in page
    assert "href='/odata/'" in page and "format=csv" in page
