"""Manual KPIs: declared, fed with observations, and read like any other KPI."""

from __future__ import annotations

from typing import Any

PULSE = {
    "key": "team_confidence",
    "name": "Team confidence pulse",
    "unit": "score",
    "direction": "up",
    "aggregation": "mean",
}


def declare(api: Any, **overrides: Any) -> Any:
    return api.client.post("/api/v1/kpis", headers=api.admin, json={**PULSE, **overrides})


def test_declare_then_observe_then_read_monthly_means(api: Any) -> None:
    assert declare(api).status_code == 201
    posted = api.client.post(
        "/api/v1/kpis/team_confidence/observations",
        headers=api.admin,
        json=[
            {"date": "2025-01-10", "value": 6},
            {"date": "2025-01-24", "value": 8, "note": "after the new runbook"},
            {"date": "2025-03-07", "value": 7.5},
        ],
    )
    assert posted.json() == {"created": 3, "updated": 0}

    rows = api.client.get(
        "/api/v1/kpis/team_confidence/values",
        params={"from": "2025-01-01", "to": "2025-04-01"},
        headers=api.read,
    ).json()["values"]

    assert [(r["value"], r["sample_size"]) for r in rows] == [(7.0, 2), (None, 0), (7.5, 1)]


def test_posting_the_same_day_again_replaces_it(api: Any) -> None:
    declare(api, aggregation="last")
    url = "/api/v1/kpis/team_confidence/observations"
    api.client.post(url, headers=api.admin, json={"date": "2025-02-01", "value": 5})

    again = api.client.post(url, headers=api.admin, json={"date": "2025-02-01", "value": 5})
    changed = api.client.post(url, headers=api.admin, json={"date": "2025-02-01", "value": 9})

    assert again.json() == {"created": 0, "updated": 0}
    assert changed.json() == {"created": 0, "updated": 1}
    listed = api.client.get(url, headers=api.read).json()
    assert listed == [{"date": "2025-02-01", "value": 9.0, "note": None}]


def test_a_manual_kpi_appears_in_the_catalogue(api: Any) -> None:
    declare(api)

    kpi = api.client.get("/api/v1/kpis/team_confidence", headers=api.read).json()

    assert kpi["manual"] is True and kpi["aggregation"] == "mean"
    assert kpi["scopes"] == []
    assert "mean of the values" in kpi["definition"]


def test_a_manual_kpi_has_no_scopes(api: Any) -> None:
    declare(api)

    response = api.client.get(
        "/api/v1/kpis/team_confidence/values", params={"board": "Service"}, headers=api.read
    )

    assert response.status_code == 400
    assert response.json()["code"] == "scope_not_supported"


def test_declaring_an_existing_key_is_a_409(api: Any) -> None:
    declare(api)

    assert declare(api).status_code == 409
    assert declare(api, key="mrr").json()["code"] == "kpi_exists"


def test_a_bad_key_is_a_422_naming_the_field(api: Any) -> None:
    response = declare(api, key="Team Confidence!")

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "body.key"


def test_observations_of_a_psa_kpi_are_refused(api: Any) -> None:
    response = api.client.post(
        "/api/v1/kpis/mrr/observations", headers=api.admin, json={"date": "2025-01-01", "value": 1}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "kpi_not_manual"


def test_a_non_number_value_is_a_422(api: Any) -> None:
    declare(api)

    response = api.client.post(
        "/api/v1/kpis/team_confidence/observations",
        headers=api.admin,
        json={"date": "2025-01-01", "value": "great"},
    )

    assert response.status_code == 422


def test_a_read_key_cannot_declare(api: Any) -> None:
    response = api.client.post("/api/v1/kpis", headers=api.read, json=PULSE)

    assert response.status_code == 403


def test_the_catalogue_comes_as_csv(api: Any) -> None:
    declare(api)

    response = api.client.get("/api/v1/kpis", headers={**api.read, "Accept": "text/csv"})

    lines = response.text.splitlines()
    assert lines[0] == "key,name,unit,direction,category,manual,definition"
    assert lines[1].startswith("tickets_created,Tickets created,count,neutral,service,false,")
    assert lines[-1].startswith("team_confidence,Team confidence pulse,score,up,manual,true,")
