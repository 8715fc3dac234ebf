"""Issue 15, defect 9: the feed's links (`@odata.context`, `@odata.nextLink`, the service
document) start with the configured public address, never with a `Host` header nobody
vouches for, and never carry the API key."""

from __future__ import annotations

from typing import Any

import pytest
from leak_guard import CheckedClient

import app.bi.odata.router as odata_router
from app.main import create_app


def client_for(api: Any, **settings: Any) -> CheckedClient:
    context = api.setup.context
    context.settings = context.settings.model_copy(update=settings)
    return CheckedClient(create_app(context=context, run_scheduler=False))


def first_page(client: CheckedClient, key: str, host: str | None = None) -> dict[str, Any]:
    headers = {"Host": host} if host else {}
    response = client.get("/odata/KpiDaily", params={"api_key": key}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(odata_router, "PAGE_SIZE", 2)


def test_a_forged_host_gets_relative_links_without_the_key(kpi_source: Any) -> None:
    key = kpi_source.read["X-API-Key"]
    with client_for(kpi_source) as client:
        body = first_page(client, key, host="attacker.example")
        document = client.get("/odata/", headers={**kpi_source.read, "Host": "attacker.example"})

    link = body["@odata.nextLink"]
    assert link.startswith("/odata/KpiDaily?") and "$skip=2" in link
    assert body["@odata.context"] == "/odata/$metadata#KpiDaily"
    assert document.json()["@odata.context"] == "/odata/$metadata"
    assert "attacker" not in str(body) + document.text
    assert key not in link and "api_key" not in link


def test_a_trusted_host_gets_absolute_links(kpi_source: Any) -> None:
    with client_for(kpi_source, trusted_hosts=["northstar.lan"]) as client:
        body = first_page(client, kpi_source.read["X-API-Key"], host="northstar.lan:8000")

    assert body["@odata.nextLink"].startswith("http://northstar.lan:8000/odata/KpiDaily?")
    assert "api_key" not in body["@odata.nextLink"]


def test_the_public_address_wins_over_any_host(kpi_source: Any) -> None:
    public = "https://northstar.example.com/bi"
    with client_for(kpi_source, public_base_url=public) as client:
        forged = first_page(client, kpi_source.read["X-API-Key"], host="attacker.example")
        local = first_page(client, kpi_source.read["X-API-Key"], host="localhost")

    for body in (forged, local):
        assert body["@odata.nextLink"].startswith(f"{public}/odata/KpiDaily?$skip=2")
        assert body["@odata.context"] == f"{public}/odata/$metadata#KpiDaily"


def test_following_a_relative_link_with_the_key_reads_every_page(kpi_source: Any) -> None:
    key = kpi_source.read["X-API-Key"]
    with client_for(kpi_source) as client:
        seen: list[int] = []
        url: str | None = "/odata/KpiDaily?$select=Id&$orderby=Id"
        while url:
            # As Power BI does: the key added to every request, the link taken as it is.
            body = client.get(f"{url}&api_key={key}").json()
            seen += [row["Id"] for row in body["value"]]
            url = body.get("@odata.nextLink")
        everything = client.get("/odata/KpiDaily/$count", headers=kpi_source.read).text

    assert len(seen) == len(set(seen)) == int(everything)
