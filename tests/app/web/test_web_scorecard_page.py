"""The scorecard page: a login form that keeps the key in a cookie, then every goal with its
status in words, progress against expected, a sparkline, the forecast and the latest
check-in."""

from __future__ import annotations

from typing import Any

from app.api.deps import COOKIE_NAME


def plan_with_two_goals(api: Any) -> None:
    post = lambda url, body: api.client.post(  # noqa: E731
        f"/api/v1{url}", headers=api.admin, json=body
    )
    top = post("/objectives", {"title": "Clients <trust> us", "purpose": "Renewals"}).json()
    goal = post(
        "/goals",
        {
            "objective_id": top["id"],
            "title": "Tickets closed up",
            "kpi": "tickets_closed",
            "kind": "increase",
            "baseline": 1,
            "target": 3,
            "start_date": "2025-01-01",
            "due_date": "2025-06-01",
        },
    ).json()
    post(
        "/goals",
        {
            "objective_id": top["id"],
            "title": "Respond within SLA",
            "kpi": "sla_response_pct",
            "kind": "stay_above",
            "target": 95,
            "start_date": "2025-01-01",
            "due_date": "2025-06-01",
        },
    )
    post(
        "/check-ins",
        {"goal_id": goal["id"], "confidence": 7, "note": "New runbook", "date": "2025-02-10"},
    )


def sign_in(api: Any) -> None:
    key = api.read["X-API-Key"]
    response = api.client.post(
        "/login",
        content=f"api_key={key}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_without_a_key_the_page_asks_for_one(api: Any) -> None:
    response = api.client.get("/")

    assert response.status_code == 200
    assert "<form method='post' action='/login'>" in response.text
    assert "API key" in response.text


def test_a_wrong_key_is_refused_in_words(api: Any) -> None:
    response = api.client.post(
        "/login",
        content="api_key=ns_wrong",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 401
    assert "That key is not valid" in response.text


def test_the_scorecard_shows_every_goal_with_its_status_in_words(kpi_source: Any) -> None:
    plan_with_two_goals(kpi_source)
    sign_in(kpi_source)

    page = kpi_source.client.get("/").text

    assert "Clients &lt;trust&gt; us" in page  # escaped
    assert "Tickets closed up" in page and "Respond within SLA" in page
    # Both goals were due in June 2025: their verdicts are final.
    statuses = ("Achieved", "Missed")
    assert sum(page.count(f">{word}</span>") for word in statuses) >= 3  # 2 goals, 1 objective
    assert "of the way from 1 to 3" in page  # progress in the API's words
    assert "Held in " in page  # a threshold goal's record of months held
    assert "Fake PSA: history held from 2024-01-01; last synced " in page  # what it rests on
    assert "7/10 on 2025-02-10: New runbook" in page
    assert "<meta name='viewport'" in page  # usable on a phone
    assert "<script" not in page  # readable without JavaScript
    assert "href='/reviews/" in page  # the quarter's review page


def test_the_cookie_opens_the_review_link_but_not_changes(kpi_source: Any) -> None:
    plan_with_two_goals(kpi_source)
    sign_in(kpi_source)

    review = kpi_source.client.get("/api/v1/reviews/2025-Q1?format=html")
    change = kpi_source.client.post("/api/v1/objectives", json={"title": "Sneaky"})

    assert review.status_code == 200 and "<h1" in review.text
    assert change.status_code in (401, 403)


def test_signing_out_clears_the_cookie(api: Any) -> None:
    sign_in(api)

    response = api.client.post("/logout", follow_redirects=False)

    assert response.status_code == 303
    assert f'{COOKIE_NAME}=""' in response.headers["set-cookie"]
    assert api.client.get("/logout").status_code == 405  # signing out changes state: POST
