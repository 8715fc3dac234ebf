"""Acceptance (issue 21): the same client in both sandbox PSAs, linked, is one breakdown row
whose counts are the sums of both sources' and whose SLA is the pooled ratio, checked against
values computed here straight from the fact tables; unlinking restores two rows. KPIs,
goals and reviews take the linked client as their scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from conftest import Demo
from helpers import ids_by_name, link
from sqlalchemy import func, select

from app.facts.models import ClientRow, TicketRow

pytestmark = pytest.mark.db


@dataclass(frozen=True)
class Counts:
    created: int
    met: int
    decided: int


def _last_month(demo: Demo) -> tuple[date, date]:
    today = datetime.now(demo.context.settings.tz).date()
    end = today.replace(day=1)
    return (end - timedelta(days=1)).replace(day=1), end


def _by_hand(demo: Demo, source_id: int, client: str, start: date, end: date) -> Counts:
    """Tickets created, and first responses in SLA over those decided, in [start, end)."""
    tz = demo.context.settings.tz
    low = datetime.combine(start, time(), tz).astimezone(UTC)
    high = datetime.combine(end, time(), tz).astimezone(UTC)
    mine = (TicketRow.source_id == source_id, TicketRow.client_external_id == client)
    responded = (
        *mine,
        TicketRow.first_response_at >= low,
        TicketRow.first_response_at < high,
        TicketRow.response_met.is_not(None),
    )
    with demo.db.session() as session:
        created = session.scalar(
            select(func.count()).where(
                *mine, TicketRow.created_at >= low, TicketRow.created_at < high
            )
        )
        decided = session.scalar(select(func.count()).where(*responded))
        met = session.scalar(
            select(func.count()).where(*responded, TicketRow.response_met.is_(True))
        )
    return Counts(created or 0, met or 0, decided or 0)


@dataclass(frozen=True)
class Shared:
    name: str
    ids: tuple[int, int]  # ConnectWise's row, Autotask's
    counts: tuple[Counts, Counts]


@pytest.fixture
def shared(clean_links: Demo) -> Iterator[Shared]:
    """The client both PSAs have with the most SLA decisions last month in each (the demo
    world's year ends today, so which one that is can change from day to day)."""
    demo = clean_links
    start, end = _last_month(demo)
    connectwise = ids_by_name(demo, "client", demo.connectwise)
    autotask = ids_by_name(demo, "client", demo.autotask)
    best: Shared | None = None
    for name in sorted(set(connectwise) & set(autotask)):
        external = {}
        with demo.db.session() as session:
            for source, ids in ((demo.connectwise, connectwise), (demo.autotask, autotask)):
                external[source] = session.get_one(ClientRow, ids[name]).external_id
        counts = (
            _by_hand(demo, demo.connectwise, external[demo.connectwise], start, end),
            _by_hand(demo, demo.autotask, external[demo.autotask], start, end),
        )
        if best is None or min(c.decided for c in counts) > min(c.decided for c in best.counts):
            best = Shared(name, (connectwise[name], autotask[name]), counts)
    assert best is not None and min(c.decided for c in best.counts) > 0
    yield best


def _breakdown(demo: Demo, kpi: str, month: date, **params: object) -> dict:
    response = demo.client.get(
        f"/api/v1/kpis/{kpi}/breakdown",
        params={"by": "client", "period": month.strftime("%Y-%m"), **params},
        headers=demo.read,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reason"] is None
    return body


def test_a_linked_client_is_one_row_with_summed_counts_and_a_pooled_sla(
    clean_links: Demo, shared: Shared
) -> None:
    demo = clean_links
    start, _ = _last_month(demo)
    cw, at = shared.counts
    separate = {r["key"]: r for r in _breakdown(demo, "tickets_created", start)["rows"]}
    assert separate[str(shared.ids[0])]["value"] == cw.created
    assert separate[str(shared.ids[1])]["value"] == at.created
    sla_apart = {r["key"]: r for r in _breakdown(demo, "sla_response_pct", start)["rows"]}
    assert (
        sla_apart[str(shared.ids[0])]["numerator"],
        sla_apart[str(shared.ids[0])]["denominator"],
    ) == (cw.met, cw.decided)

    made = link(demo, "client", list(shared.ids))
    key = made["scope"]
    rows = _breakdown(demo, "tickets_created", start)["rows"]
    pooled = {r["key"]: r for r in rows}
    assert str(shared.ids[0]) not in pooled and str(shared.ids[1]) not in pooled
    assert len(rows) == len(separate) - 1
    row = pooled[key]
    assert (row["value"], row["sample_size"]) == (cw.created + at.created, cw.created + at.created)
    assert (row["name"], row["source"], row["members"]) == (shared.name, None, sorted(shared.ids))

    sla = {r["key"]: r for r in _breakdown(demo, "sla_response_pct", start)["rows"]}[key]
    met, decided = cw.met + at.met, cw.decided + at.decided
    assert (sla["numerator"], sla["denominator"], sla["sample_size"]) == (met, decided, decided)
    assert sla["value"] == pytest.approx(100 * met / decided, abs=1e-6)

    # The same numbers as a series scoped to the linked client.
    series = demo.client.get(
        "/api/v1/kpis/sla_response_pct/values",
        params={
            "client": key,
            "grain": "month",
            "from": start.isoformat(),
            "to": _last_month(demo)[1].isoformat(),
        },
        headers=demo.read,
    )
    assert series.status_code == 200, series.text
    (value,) = series.json()["values"]
    assert (value["numerator"], value["denominator"]) == (met, decided)
    assert value["value"] == pytest.approx(100 * met / decided, abs=1e-6)

    apart = _breakdown(demo, "tickets_created", start, unlinked="true")["rows"]
    assert {r["key"] for r in apart} == set(separate)

    assert demo.client.delete(f"/api/v1/links/{made['id']}", headers=demo.admin).status_code == 204
    restored = {r["key"]: r for r in _breakdown(demo, "tickets_created", start)["rows"]}
    assert restored == separate


def test_a_goal_on_a_linked_client_follows_the_pooled_series(
    clean_links: Demo, shared: Shared
) -> None:
    demo = clean_links
    start, end = _last_month(demo)
    made = link(demo, "client", list(shared.ids))
    met = sum(c.met for c in shared.counts)
    decided = sum(c.decided for c in shared.counts)
    objective = demo.client.post(
        "/api/v1/objectives", json={"title": "One client, one service"}, headers=demo.admin
    ).json()
    goal = demo.client.post(
        "/api/v1/goals",
        json={
            "objective_id": objective["id"],
            "title": f"{shared.name} gets answered in time",
            "kpi": "sla_response_pct",
            "scope": {"client": made["scope"]},
            "kind": "stay_above",
            "target": 50,
            "start_date": (start - timedelta(days=62)).replace(day=1).isoformat(),
            "due_date": (end + timedelta(days=200)).isoformat(),
        },
        headers=demo.admin,
    )
    assert goal.status_code == 201, goal.text
    goal_id = goal.json()["id"]
    try:
        assert goal.json()["scope"]["client"] == made["scope"]
        alignment = demo.client.get(f"/api/v1/goals/{goal_id}/alignment", headers=demo.read)
        assert alignment.status_code == 200, alignment.text
        body = alignment.json()
        assert body["window"]["start"] == start.isoformat()
        assert body["current_value"] == pytest.approx(100 * met / decided, abs=1e-6)
        assert body["sample_size"] == decided
        quarter = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        review = demo.client.get(f"/api/v1/reviews/{quarter}", headers=demo.read)
        assert review.status_code == 200, review.text
        goals = [g for o in review.json()["objectives"] for g in o["goals"]]
        (reviewed,) = [g for g in goals if g["goal_id"] == goal_id]
        assert reviewed["end"]["value"] is not None
    finally:
        demo.client.delete(f"/api/v1/goals/{goal_id}", headers=demo.admin)
        demo.client.delete(f"/api/v1/objectives/{objective['id']}", headers=demo.admin)


def test_additive_kpis_pool_and_a_linked_technician_refuses_utilisation(
    clean_links: Demo, shared: Shared
) -> None:
    demo = clean_links
    start, end = _last_month(demo)
    window = {"grain": "month", "from": start.isoformat(), "to": end.isoformat()}

    def value(kpi: str, **scope: object) -> dict:
        response = demo.client.get(
            f"/api/v1/kpis/{kpi}/values", params={**window, **scope}, headers=demo.read
        )
        assert response.status_code == 200, response.text
        (only,) = response.json()["values"]
        return only

    made = link(demo, "client", list(shared.ids))
    for kpi in ("open_backlog", "mrr", "hours_logged", "tickets_closed"):
        members = [value(kpi, client=member)["value"] for member in shared.ids]
        assert value(kpi, client=made["scope"])["value"] == pytest.approx(sum(members)), kpi
    mrr_rows = {r["key"]: r for r in _breakdown(demo, "mrr", start)["rows"]}
    assert mrr_rows[made["scope"]]["value"] == pytest.approx(
        value("mrr", client=made["scope"])["value"]
    )

    farid = (
        ids_by_name(demo, "technician", demo.connectwise)["Farid Haddad"],
        ids_by_name(demo, "technician", demo.autotask)["Farid Haddad"],
    )
    person = link(demo, "technician", list(farid))
    closed = [value("tickets_closed", technician=t)["value"] for t in farid]
    assert value("tickets_closed", technician=person["scope"])["value"] == sum(closed)
    for kpi in ("utilization_pct", "billable_utilization_pct", "tickets_closed_per_technician"):
        refused = demo.client.get(
            f"/api/v1/kpis/{kpi}/values",
            params={**window, "technician": person["scope"]},
            headers=demo.read,
        )
        assert refused.status_code == 400, kpi
        assert refused.json()["code"] == "linked_scope_not_supported"
        assert "twice" in refused.json()["message"]
    # Utilisation by technician lists each PSA's technician apart, linked or not.
    rows = demo.client.get(
        "/api/v1/kpis/utilization_pct/breakdown",
        params={"by": "technician", "period": start.strftime("%Y-%m")},
        headers=demo.read,
    ).json()["rows"]
    assert {str(t) for t in farid} <= {r["key"] for r in rows}

    for bad, code in (
        ("linked:99999", "linked_entity_not_found"),
        ("linked:abc", "linked_entity_not_found"),
        (person["scope"], "linked_entity_not_found"),  # a technician's link is no client
        ("linked:99999999999999999999", "linked_entity_not_found"),
    ):
        response = demo.client.get(
            "/api/v1/kpis/tickets_created/values", params={"client": bad}, headers=demo.read
        )
        assert (response.status_code, response.json()["code"]) == (404, code), bad


def test_the_odata_feed_carries_a_linked_clients_pooled_rows_revenue_included(
    clean_links: Demo, shared: Shared
) -> None:
    demo = clean_links
    made = link(demo, "client", list(shared.ids))
    start, end = _last_month(demo)
    year_ago = start.replace(year=start.year - 1)
    for kpi in ("tickets_created", "mrr", "effective_hourly_rate"):
        rest = demo.client.get(
            f"/api/v1/kpis/{kpi}/values",
            params={
                "client": made["scope"],
                "grain": "month",
                "from": year_ago.isoformat(),
                "to": end.isoformat(),
            },
            headers=demo.read,
        )
        assert rest.status_code == 200, rest.text
        expected = {v["period_start"]: v["value"] for v in rest.json()["values"]}
        feed = demo.client.get(
            "/odata/KpiMonthlyValues",
            params={
                "$filter": f"KpiKey eq '{kpi}' and Scope eq 'linked_client' "
                f"and LinkedEntityId eq {made['id']} and Date ge {year_ago.isoformat()} "
                f"and Date lt {end.isoformat()}",
                "$select": "Date,Value",
            },
            headers=demo.read,
        )
        assert feed.status_code == 200, feed.text
        got = {row["Date"][:10]: row["Value"] for row in feed.json()["value"]}
        assert set(got) <= set(expected), kpi
        assert got, kpi
        for month, value in got.items():
            if expected[month] is None:
                assert value is None, (kpi, month)
            else:
                assert value == pytest.approx(expected[month], abs=1e-6), (kpi, month)
        if kpi != "tickets_created":  # revenue: every month REST has a value for
            assert {m for m, v in expected.items() if v is not None} <= set(got), kpi
