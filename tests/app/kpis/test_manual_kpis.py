"""Manual KPIs: declared, fed with observations, and read like any other KPI."""

from __future__ import annotations

from typing import Any

import pytest

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
    assert listed == [
        {"date": "2025-02-01", "value": 9.0, "note": None, "recorded_by": "API key admin"}
    ]


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


# ---- scales and number limits ----------------------------------------------------------------

OBSERVATIONS = "/api/v1/kpis/team_confidence/observations"
LIMIT_WORDS = "between -1,000,000,000,000 and 1,000,000,000,000"


def observe(api: Any, body: Any) -> Any:
    return api.client.post(OBSERVATIONS, headers=api.admin, json=body)


@pytest.mark.parametrize(
    ("key", "low", "high"),
    [
        ("sla_response_pct", 0, 100),
        ("utilization_pct", 0, 100),
        ("tickets_closed", 0, None),
        ("avg_response_hours", 0, None),
        ("mrr", 0, None),
    ],
)
def test_a_built_in_kpi_shows_the_values_it_can_take(
    api: Any, key: str, low: float, high: float | None
) -> None:
    response = api.client.get(f"/api/v1/kpis/{key}", headers=api.read)

    assert response.status_code == 200
    assert (response.json()["min"], response.json()["max"]) == (low, high)


@pytest.mark.parametrize(
    ("scale", "shown"),
    [
        ({"min": 1, "max": 10}, (1, 10)),
        ({"min": -100, "max": 100}, (-100, 100)),
        ({"min": 0}, (0, None)),
        ({}, (None, None)),
    ],
)
def test_a_manual_kpi_shows_its_scale(
    api: Any, scale: dict[str, float], shown: tuple[float | None, float | None]
) -> None:
    declared = declare(api, **scale)

    read = api.client.get("/api/v1/kpis/team_confidence", headers=api.read).json()
    assert declared.status_code == 201
    assert (declared.json()["min"], declared.json()["max"]) == shown
    assert (read["min"], read["max"]) == shown


# (case, scale, code, field, words of the message)
# fmt: off
SCALE_REFUSALS: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("min-equals-max", {"min": 5, "max": 5}, "scale_invalid", "body.max",
     "`min` must be below its `max`; got min 5 and max 5"),
    ("min-above-max", {"min": 10, "max": 1}, "scale_invalid", "body.max",
     "`min` must be below its `max`; got min 10 and max 1"),
    ("min-too-large", {"min": 1e13}, "number_out_of_range", "body.min", LIMIT_WORDS),
    ("max-too-small", {"max": -1e13}, "number_out_of_range", "body.max", LIMIT_WORDS),
]
# fmt: on


@pytest.mark.parametrize(
    ("scale", "code", "field", "words"),
    [r[1:] for r in SCALE_REFUSALS],
    ids=[r[0] for r in SCALE_REFUSALS],
)
def test_a_scale_that_does_not_hold_together_is_refused(
    api: Any, scale: dict[str, Any], code: str, field: str, words: str
) -> None:
    response = declare(api, **scale)

    assert response.status_code == 422, response.text
    error = response.json()
    assert (error["code"], error["details"][0]["field"]) == (code, field)
    assert words in error["message"]
    assert api.client.get("/api/v1/kpis/team_confidence", headers=api.read).status_code == 404


# (case, scale, posted, code, field, words of the message)
# fmt: off
OBSERVATION_REFUSALS: list[tuple[str, dict[str, Any], Any, str, str, str]] = [
    ("below-the-scale-in-a-batch", {"min": 1, "max": 10},
     [{"date": "2025-11-21", "value": 7}, {"date": "2025-11-28", "value": 0}],
     "outside_kpi_range", "body.1.value",
     "Observation 2 (2025-11-28): 0 is outside Team confidence pulse's scale, 1 to 10."),
    ("above-the-scale", {"min": 1, "max": 10},
     [{"date": "2025-11-21", "value": 7}, {"date": "2025-11-28", "value": 11}],
     "outside_kpi_range", "body.1.value",
     "Observation 2 (2025-11-28): 11 is outside Team confidence pulse's scale, 1 to 10."),
    ("one-alone", {"min": 1, "max": 10}, {"date": "2025-11-28", "value": 10.5},
     "outside_kpi_range", "body.value", "10.5 is outside Team confidence pulse's scale, 1 to 10"),
    ("below-an-open-scale", {"min": 0}, [{"date": "2025-11-28", "value": -1}],
     "outside_kpi_range", "body.0.value", "-1 is outside Team confidence pulse's scale, 0 or more"),
    ("huge-without-a-scale", {}, [{"date": "2025-11-28", "value": 1e308}],
     "number_out_of_range", "body.0.value", LIMIT_WORDS),
    ("huge-with-a-scale", {"min": 1, "max": 10}, [{"date": "2025-11-28", "value": -1e308}],
     "number_out_of_range", "body.0.value", LIMIT_WORDS),
]
# fmt: on


@pytest.mark.parametrize(
    ("scale", "posted", "code", "field", "words"),
    [r[1:] for r in OBSERVATION_REFUSALS],
    ids=[r[0] for r in OBSERVATION_REFUSALS],
)
def test_an_observation_out_of_range_refuses_the_batch(
    api: Any, scale: dict[str, Any], posted: Any, code: str, field: str, words: str
) -> None:
    declare(api, **scale)

    response = observe(api, posted)

    assert response.status_code == 422, response.text
    error = response.json()
    assert (error["code"], error["details"][0]["field"]) == (code, field)
    assert words in error["message"]
    assert api.client.get(OBSERVATIONS, headers=api.read).json() == []


@pytest.mark.parametrize(
    ("scale", "values"),
    [
        ({}, [-1e12, -3.5, 0, 1e12]),
        ({"min": 1, "max": 10}, [1, 5.5, 10]),
        ({"min": -100, "max": 100}, [-100, 100]),
    ],
    ids=["no-scale-any-finite-number", "the-ends-of-the-scale", "nps"],
)
def test_observations_within_range_are_stored(
    api: Any, scale: dict[str, Any], values: list[float]
) -> None:
    declare(api, **scale)
    posted = [{"date": f"2025-01-{day + 1:02d}", "value": v} for day, v in enumerate(values)]

    response = observe(api, posted)

    assert response.status_code == 200, response.text
    assert response.json() == {"created": len(values), "updated": 0}
    listed = api.client.get(OBSERVATIONS, headers=api.read).json()
    assert [o["value"] for o in listed] == values
