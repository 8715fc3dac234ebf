"""Confirming, renaming, changing and undoing links, rejecting suggestions, and the clear
answers for what cannot be linked."""

from __future__ import annotations

import pytest
from conftest import Demo
from helpers import ids_by_name, link, pair

pytestmark = pytest.mark.db


def test_confirm_shows_everywhere_then_unlink_undoes_it(clean_links: Demo) -> None:
    demo = clean_links
    cw, at = pair(demo, "client", "Granite Clinic")
    made = link(demo, "client", [cw, at])
    assert made["name"] == "Granite Clinic"  # the first member's name by default
    assert made["scope"] == f"linked:{made['id']}"
    assert made["created_by"] == "API key directory admin"
    assert [m["id"] for m in made["members"]] == [cw, at]
    assert {m["source_id"] for m in made["members"]} == {demo.connectwise, demo.autotask}
    entry = demo.client.get(f"/api/v1/clients/{at}", headers=demo.read).json()
    assert entry["linked"] == {"id": made["id"], "name": "Granite Clinic", "scope": made["scope"]}
    listed = demo.client.get("/api/v1/links", params={"kind": "client"}, headers=demo.read)
    assert [x["id"] for x in listed.json()] == [made["id"]]
    assert demo.client.get("/api/v1/links?kind=technician", headers=demo.read).json() == []

    renamed = demo.client.patch(
        f"/api/v1/links/{made['id']}", json={"name": "Granite Clinic (both)"}, headers=demo.admin
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Granite Clinic (both)"
    assert (
        demo.client.get(f"/api/v1/links/{made['id']}", headers=demo.read).json()["name"]
        == "Granite Clinic (both)"
    )

    blank = demo.client.patch(
        f"/api/v1/links/{made['id']}", json={"name": "  "}, headers=demo.admin
    )
    assert blank.status_code == 422

    gone = demo.client.delete(f"/api/v1/links/{made['id']}", headers=demo.admin)
    assert gone.status_code == 204
    assert demo.client.get(f"/api/v1/links/{made['id']}", headers=demo.read).status_code == 404
    assert demo.client.get(f"/api/v1/clients/{at}", headers=demo.read).json()["linked"] is None


def test_members_are_added_and_removed_but_a_link_keeps_two(clean_links: Demo) -> None:
    demo = clean_links
    cw, at = pair(demo, "client", "Acme Dental")
    other = ids_by_name(demo, "client", demo.connectwise)["Acme Insurance"]
    made = link(demo, "client", [cw, at], name="Acme")
    url = f"/api/v1/links/{made['id']}/members"
    added = demo.client.post(url, json={"member": other}, headers=demo.admin)
    assert added.status_code == 201, added.text
    assert [m["id"] for m in added.json()["members"]] == sorted([cw, at, other])
    again = demo.client.post(url, json={"member": other}, headers=demo.admin)
    assert again.status_code == 201  # already a member: nothing changes
    removed = demo.client.delete(f"{url}/{other}", headers=demo.admin)
    assert removed.status_code == 200
    assert [m["id"] for m in removed.json()["members"]] == [cw, at]
    not_member = demo.client.delete(f"{url}/{other}", headers=demo.admin)
    assert (not_member.status_code, not_member.json()["code"]) == (404, "member_not_linked")
    last_two = demo.client.delete(f"{url}/{cw}", headers=demo.admin)
    assert (last_two.status_code, last_two.json()["code"]) == (409, "too_few_members")


def test_what_cannot_be_linked_gets_a_clear_answer(clean_links: Demo) -> None:
    demo = clean_links
    cw, at = pair(demo, "client", "Cedar Architects")

    def refused(body: dict) -> tuple[int, str]:
        response = demo.client.post("/api/v1/links", json=body, headers=demo.admin)
        return response.status_code, response.json()["code"]

    assert refused({"kind": "client", "members": [cw]}) == (422, "too_few_members")
    assert refused({"kind": "client", "members": [cw, cw]}) == (422, "too_few_members")
    assert refused({"kind": "client", "members": [cw, 99999]}) == (422, "member_not_found")
    assert refused({"kind": "shop", "members": [cw, at]})[0] == 422
    assert refused({"kind": "client", "members": [cw, at], "name": ""})[0] == 422
    made = link(demo, "client", [cw, at])
    third = ids_by_name(demo, "client", demo.connectwise)["Horizon Architects"]
    assert refused({"kind": "client", "members": [third, at]}) == (409, "member_already_linked")
    add = demo.client.post(
        "/api/v1/links/99999/members", json={"member": third}, headers=demo.admin
    )
    assert (add.status_code, add.json()["code"]) == (404, "link_not_found")
    read_key = demo.client.post(
        "/api/v1/links", json={"kind": "client", "members": [third, cw]}, headers=demo.read
    )
    assert read_key.status_code == 403
    assert demo.client.delete(f"/api/v1/links/{made['id']}", headers=demo.read).status_code == 403


def test_two_rows_of_one_psa_may_be_linked(clean_links: Demo) -> None:
    """A client entered twice in one PSA is a real duplicate; linking pools it the same way."""
    demo = clean_links
    names = ids_by_name(demo, "client", demo.connectwise)
    made = link(demo, "client", [names["Maple Foods"], names["Willow Foods"]], name="Foods")
    assert {m["source_id"] for m in made["members"]} == {demo.connectwise}


def test_a_link_goals_follow_cannot_be_undone_until_they_change(clean_links: Demo) -> None:
    demo = clean_links
    made = link(demo, "client", list(pair(demo, "client", "Trinity Academy")))
    objective = demo.client.post(
        "/api/v1/objectives", json={"title": "Trinity stays happy"}, headers=demo.admin
    ).json()
    goal = demo.client.post(
        "/api/v1/goals",
        json={
            "objective_id": objective["id"],
            "title": "Trinity tickets",
            "kpi": "tickets_created",
            "scope": {"client": made["scope"]},
            "kind": "stay_below",
            "target": 100,
            "start_date": "2026-01-01",
            "due_date": "2026-12-31",
        },
        headers=demo.admin,
    )
    assert goal.status_code == 201, goal.text
    try:
        refused = demo.client.delete(f"/api/v1/links/{made['id']}", headers=demo.admin)
        assert (refused.status_code, refused.json()["code"]) == (409, "link_in_use")
        assert "Trinity tickets" in refused.json()["message"]
    finally:
        demo.client.delete(f"/api/v1/goals/{goal.json()['id']}", headers=demo.admin)
        demo.client.delete(f"/api/v1/objectives/{objective['id']}", headers=demo.admin)
    assert demo.client.delete(f"/api/v1/links/{made['id']}", headers=demo.admin).status_code == 204


def test_a_rejected_pair_is_not_suggested_again(clean_links: Demo) -> None:
    demo = clean_links
    cw, at = pair(demo, "technician", "Kim Moreau")

    def suggested() -> set[tuple[int, int]]:
        response = demo.client.get(
            "/api/v1/links/suggestions", params={"kind": "technician"}, headers=demo.read
        )
        assert response.status_code == 200, response.text
        return {(s["first"]["id"], s["second"]["id"]) for s in response.json()["suggestions"]}

    assert (cw, at) in suggested()
    body = {"kind": "technician", "first": at, "second": cw}
    rejected = demo.client.post("/api/v1/links/suggestions/reject", json=body, headers=demo.admin)
    assert rejected.status_code == 201, rejected.text
    assert (rejected.json()["first"], rejected.json()["second"]) == (cw, at)
    again = demo.client.post("/api/v1/links/suggestions/reject", json=body, headers=demo.admin)
    assert again.status_code == 201
    assert again.json()["decided_at"] == rejected.json()["decided_at"]
    assert (cw, at) not in suggested()
    same = demo.client.post(
        "/api/v1/links/suggestions/reject",
        json={"kind": "technician", "first": cw, "second": cw},
        headers=demo.admin,
    )
    assert (same.status_code, same.json()["code"]) == (422, "same_member")
    unknown = demo.client.post(
        "/api/v1/links/suggestions/reject",
        json={"kind": "technician", "first": cw, "second": 99999},
        headers=demo.admin,
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "member_not_found")
    # A linked pair is not suggested either.
    farid = pair(demo, "technician", "Farid Haddad")
    assert farid in suggested()
    link(demo, "technician", list(farid))
    assert farid not in suggested()
