"""The client and technician directories on the demo world: the ids KPIs take, search that
ignores case and accents, the source filter, paging with a total, and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import Demo
from sqlalchemy import delete

from app.facts.models import ClientRow

pytestmark = pytest.mark.db

CONNECTWISE_CLIENTS, AUTOTASK_CLIENTS = 41, 17  # the MSP itself and 40 (16) clients


def _clients(demo: Demo, **params: object) -> dict:
    response = demo.client.get("/api/v1/clients", params=params, headers=demo.read)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_client_of_both_psas_is_listed_by_name_with_its_source(demo: Demo) -> None:
    page = _clients(demo, limit=1000)
    assert page["total"] == CONNECTWISE_CLIENTS + AUTOTASK_CLIENTS == len(page["items"])
    names = [i["name"] for i in page["items"]]
    assert names == sorted(names, key=str.casefold)
    granite = [i for i in page["items"] if i["name"] == "Granite Clinic"]
    assert sorted(i["source_id"] for i in granite) == sorted([demo.connectwise, demo.autotask])
    for item in granite:
        assert item["external_id"] == "7"
        assert item["source_name"].startswith(("Northwind IT", "Contoso Support"))
        assert item["linked"] is None
    # The id listed is the one the KPI filters take.
    one = granite[0]
    values = demo.client.get(
        "/api/v1/kpis/tickets_created/values",
        params={"client": one["id"], "grain": "year"},
        headers=demo.read,
    )
    assert values.status_code == 200, values.text
    assert values.json()["scope"]["client"] == str(one["id"])


def test_search_ignores_case_and_accents(demo: Demo) -> None:
    found = _clients(demo, q="GRÁNITE clínic")
    assert [i["name"] for i in found["items"]] == ["Granite Clinic", "Granite Clinic"]
    assert found["total"] == 2
    assert {i["name"] for i in _clients(demo, q="granite")["items"]} == {
        "Granite Clinic",
        "Granite Dental",
    }
    assert _clients(demo, q="no such client")["total"] == 0


def test_the_source_filter_and_paging(demo: Demo) -> None:
    autotask = _clients(demo, source=demo.autotask, limit=1000)
    assert autotask["total"] == AUTOTASK_CLIENTS
    assert {i["source_id"] for i in autotask["items"]} == {demo.autotask}
    everything = _clients(demo, limit=1000)["items"]
    page = _clients(demo, limit=5, offset=10)
    assert (page["total"], page["limit"], page["offset"]) == (58, 5, 10)
    assert [i["id"] for i in page["items"]] == [i["id"] for i in everything[10:15]]
    assert _clients(demo, limit=5, offset=100)["items"] == []
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"source": 0}):
        response = demo.client.get("/api/v1/clients", params=bad, headers=demo.read)
        assert response.status_code == 422, (bad, response.text)
    unknown_source = _clients(demo, source=999)
    assert unknown_source["total"] == 0


def test_technicians_carry_their_e_mail_and_its_domain(demo: Demo) -> None:
    response = demo.client.get("/api/v1/technicians", params={"q": "farid"}, headers=demo.read)
    assert response.status_code == 200, response.text
    farid = response.json()["items"]
    assert len(farid) == 2
    for item in farid:
        assert item["name"] == "Farid Haddad"
        assert item["email"] == "farid.haddad@northwind-it.example"
        assert item["domain"] == "northwind-it.example"
    one = demo.client.get(f"/api/v1/technicians/{farid[0]['id']}", headers=demo.read)
    assert one.status_code == 200
    assert one.json() == farid[0]


def test_one_client_and_unknown_ids(demo: Demo) -> None:
    first = _clients(demo, limit=1)["items"][0]
    one = demo.client.get(f"/api/v1/clients/{first['id']}", headers=demo.read)
    assert one.status_code == 200
    assert one.json() == first
    missing = demo.client.get("/api/v1/clients/99999", headers=demo.read)
    assert missing.status_code == 404
    assert missing.json()["code"] == "client_not_found"
    missing = demo.client.get("/api/v1/technicians/99999", headers=demo.read)
    assert (missing.status_code, missing.json()["code"]) == (404, "technician_not_found")
    assert demo.client.get("/api/v1/clients/0", headers=demo.read).status_code == 422
    assert demo.client.get("/api/v1/clients").status_code == 401


def test_csv_has_every_column_the_total_and_no_formula(demo: Demo) -> None:
    with demo.db.session() as session:
        session.add(
            ClientRow(
                source_id=demo.connectwise,
                external_id="formula-test",
                name='=HYPERLINK("http://evil.example","Zeta")',
            )
        )
    try:
        response = demo.client.get(
            "/api/v1/clients",
            params={"format": "csv", "limit": 3, "q": "a"},
            headers=demo.read,
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 3
        assert int(response.headers["X-Total-Count"]) > 3
        assert list(rows[0]) == [
            "id", "name", "active", "source_id", "source_name", "external_id", "email",
            "domain", "website", "linked_id", "linked_name", "linked_scope",
        ]  # fmt: skip
        evil = demo.client.get(
            "/api/v1/clients",
            params={"q": "hyperlink"},
            headers={**demo.read, "Accept": "text/csv"},
        )
        (row,) = list(csv.DictReader(io.StringIO(evil.text)))
        assert row["name"].startswith("'=HYPERLINK")
    finally:
        with demo.db.session() as session:
            session.execute(delete(ClientRow).where(ClientRow.external_id == "formula-test"))
