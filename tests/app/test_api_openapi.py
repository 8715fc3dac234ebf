"""The OpenAPI document says what the API does (issue 15, defect 16): every error answer an
operation can give is documented in the shape it has, CSV and XML answers are declared, and
a PATCH field the schema calls nullable takes null while one that is not refuses it."""

from __future__ import annotations

from typing import Any

import pytest

CHANGES = {"post", "put", "patch", "delete"}


@pytest.fixture
def document(api: Any) -> dict[str, Any]:
    response = api.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_operation_documents_the_errors_it_can_give(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        statuses = set(operation["responses"])
        where = f"{method.upper()} {path}"
        if path.startswith("/odata"):
            assert {"400", "401", "404"} <= statuses, where
            continue
        assert {"400", "431", "503"} <= statuses, where
        if operation.get("security"):
            assert {"401", "429"} <= statuses, where
        if operation.get("security") and method in CHANGES:
            assert {"403", "409"} <= statuses, where
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in statuses, where
        if "requestBody" in operation:
            assert {"413", "422"} <= statuses, where


def test_every_error_answer_has_the_shape_the_api_sends(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        for status, answer in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            if path == "/api/v1/health" and "content" not in answer:
                continue  # the health route documents its own answers (503: its status)
            schema = answer["content"]["application/json"]["schema"]
            in_odata_shape = path.startswith("/odata") and status not in ("431", "503")
            expected = "ODataErrorOut" if in_odata_shape else None
            assert schema["$ref"].endswith(expected or "ErrorOut"), (method, path, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["ErrorOut"]["properties"]) == {
        "code",
        "message",
        "details",
    }


def test_csv_xml_and_text_answers_are_declared(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path in (
        "/api/v1/objectives",
        "/api/v1/goals",
        "/api/v1/check-ins",
        "/api/v1/kpis/{key}/observations",
        "/api/v1/kpis/{key}/values",
        "/api/v1/alignment",
    ):
        assert "text/csv" in paths[path]["get"]["responses"]["200"]["content"], path
    metadata = paths["/odata/$metadata"]["get"]["responses"]["200"]["content"]
    count = paths["/odata/{name}/$count"]["get"]["responses"]["200"]["content"]
    assert list(metadata) == ["application/xml"]
    assert list(count) == ["text/plain"]


def test_days_and_ids_are_documented_with_their_ranges(document: dict[str, Any]) -> None:
    alignment = document["paths"]["/api/v1/alignment"]["get"]
    as_of = next(p for p in alignment["parameters"] if p["name"] == "as_of")
    goal = document["paths"]["/api/v1/goals/{goal_id}"]["get"]
    goal_id = next(p for p in goal["parameters"] if p["name"] == "goal_id")

    assert "2000-01-01 to 2100-12-31" in as_of["description"]
    assert (goal_id["schema"]["minimum"], goal_id["schema"]["maximum"]) == (1, 2**31 - 1)


# ---- nullable PATCH fields -----------------------------------------------------------------


@pytest.fixture
def rows(api: Any) -> dict[str, int]:
    def post(url: str, body: dict[str, Any]) -> int:
        response = api.client.post(f"/api/v1{url}", headers=api.admin, json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    parent = post("/objectives", {"title": "Parent"})
    objective = post("/objectives", {"title": "Child", "parent_id": parent, "purpose": "x"})
    dates = {"start_date": "2025-01-01", "due_date": "2025-12-31"}
    decrease = post(
        "/goals",
        {"objective_id": objective, "title": "Faster", "kpi": "avg_response_hours"}
        | {"kind": "decrease", "baseline": 6, "target": 2, "scope": {"priority": "P1"}}
        | {"baseline_start": "2024-11-01", "baseline_end": "2024-12-01"}
        | dates,
    )
    band = post(
        "/goals",
        {"objective_id": objective, "title": "Busy", "kpi": "utilization_pct", "kind": "band"}
        | {"low": 70, "high": 80}
        | dates,
    )
    milestone = post(f"/goals/{band}/milestones", {"title": "Halfway", "due_date": "2025-06-30"})
    check_in = post("/check-ins", {"goal_id": band, "confidence": 7, "note": "ok", "author": "Sam"})
    return {
        "objective": objective,
        "decrease": decrease,
        "band": band,
        "milestone": milestone,
        "check_in": check_in,
    }


# Every field a PATCH schema calls nullable, with a row where null is a valid change.
NULLABLE_CHANGES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "ObjectivePatch": [
        ("objectives", "objective", {"purpose": None}),
        ("objectives", "objective", {"owner": None}),
        ("objectives", "objective", {"horizon": None}),
        ("objectives", "objective", {"parent_id": None}),
        ("objectives", "objective", {"win_feels_like": None}),
    ],
    "GoalPatch": [
        ("goals", "decrease", {"scope": None}),
        ("goals", "decrease", {"baseline": None}),
        ("goals", "decrease", {"baseline_start": None, "baseline_end": None}),
        ("goals", "decrease", {"evaluation_grain": None}),
        ("goals", "decrease", {"low": None, "high": None}),
        ("goals", "band", {"target": None}),
        ("goals", "decrease", {"kind": "band", "target": None, "low": 1, "high": 2}),
    ],
    "MilestonePatch": [
        ("milestones", "milestone", {"title": None}),
        ("milestones", "milestone", {"target": None}),
    ],
    "CheckInPatch": [
        ("check-ins", "check_in", {"note": None}),
        ("check-ins", "check_in", {"author": None}),
    ],
}


def _nullable(schema: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in schema.get("anyOf", []))


def test_every_nullable_patch_field_is_exercised_below(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, changes in NULLABLE_CHANGES.items():
        nullable = {f for f, s in schemas[name]["properties"].items() if _nullable(s)}
        exercised = {field for _, _, body in changes for field, v in body.items() if v is None}
        assert nullable == exercised, name


@pytest.mark.parametrize(
    ("collection", "row", "body"),
    [change for changes in NULLABLE_CHANGES.values() for change in changes],
)
def test_a_nullable_patch_field_takes_null(
    api: Any, rows: dict[str, int], collection: str, row: str, body: dict[str, Any]
) -> None:
    response = api.client.patch(f"/api/v1/{collection}/{rows[row]}", headers=api.admin, json=body)

    assert response.status_code == 200, response.text
    changed = response.json()
    fields = ("purpose", "owner", "horizon", "parent_id", "win_feels_like", "title", "note")
    for field in (*fields, "author"):
        if field in body:
            assert changed[field] is None


PATCHES = {
    "ObjectivePatch": ("objectives", "objective"),
    "GoalPatch": ("goals", "decrease"),
    "MilestonePatch": ("milestones", "milestone"),
    "CheckInPatch": ("check-ins", "check_in"),
}


def test_a_patch_field_that_is_not_nullable_refuses_null(
    api: Any, document: dict[str, Any], rows: dict[str, int]
) -> None:
    schemas = document["components"]["schemas"]
    for name, (collection, row) in PATCHES.items():
        for field, schema in schemas[name]["properties"].items():
            if _nullable(schema):
                continue
            response = api.client.patch(
                f"/api/v1/{collection}/{rows[row]}", headers=api.admin, json={field: None}
            )
            assert response.status_code == 422, (name, field, response.text)
            assert response.json()["code"] == "null_not_allowed", (name, field)
