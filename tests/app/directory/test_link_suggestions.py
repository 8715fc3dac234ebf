"""The suggestion engine on the demo world proposes the true duplicates, and no false pair
scores at or above its threshold; and the normalisation rules it rests on."""

from __future__ import annotations

import pytest
from conftest import Demo
from helpers import ids_by_name

from app.directory.normalise import normal_name, website_host
from app.directory.suggest import THRESHOLD, Candidate, suggest

# The businesses and people both sandbox PSAs hold, written down by hand from the demo
# world (connectors/sandbox/generate_cast.py): the acquired Autotask shop's 16 clients and
# its record of the MSP itself are also in ConnectWise, and so are its 12 people (the
# integration account too: same name, same address).
TRUE_CLIENT_PAIRS = (
    "Northwind IT", "Acme Dental", "Harbor Logistics", "Summit Law Group",
    "Bluebird Accounting", "Cedar Architects", "Granite Clinic", "Meridian Manufacturing",
    "Oakridge Realty", "Pioneer Foods", "Riverside Engineering", "Silverline Insurance",
    "Trinity Academy", "Vertex Hotels", "Willow Pharmacy", "Lakeside Studios", "Beacon Dental",
)  # fmt: skip
TRUE_TECHNICIAN_PAIRS = (
    "Alice Morgan", "Ben Okafor", "Chloe Lindqvist", "Daniel Reyes", "Eva Novak",
    "Farid Haddad", "Grace Kowalski", "Hugo Brennan", "Isla Tanaka", "Jonas Fischer",
    "Kim Moreau", "Integration API",
)  # fmt: skip

pytestmark = pytest.mark.db


@pytest.mark.parametrize(
    ("kind", "true_names"), [("client", TRUE_CLIENT_PAIRS), ("technician", TRUE_TECHNICIAN_PAIRS)]
)
def test_every_true_pair_is_suggested_and_no_false_one_above_the_threshold(
    demo: Demo, kind: str, true_names: tuple[str, ...]
) -> None:
    connectwise = ids_by_name(demo, kind, demo.connectwise)
    autotask = ids_by_name(demo, kind, demo.autotask)
    truth = {tuple(sorted((connectwise[n], autotask[n]))) for n in true_names}
    response = demo.client.get(
        "/api/v1/links/suggestions", params={"kind": kind}, headers=demo.read
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["threshold"] == THRESHOLD
    scored = {(s["first"]["id"], s["second"]["id"]): s for s in body["suggestions"]}
    for pair in truth:
        assert pair in scored, pair
        assert scored[pair]["score"] >= body["threshold"]
        assert scored[pair]["above_threshold"] is True
        assert "same_name" in {e["kind"] for e in scored[pair]["evidence"]}
    confident = {pair for pair, s in scored.items() if s["score"] >= body["threshold"]}
    assert confident == truth
    for suggestion in body["suggestions"]:
        assert suggestion["first"]["source_id"] != suggestion["second"]["source_id"]
        assert 0 <= suggestion["score"] < 1
    if kind == "technician":
        farid = scored[tuple(sorted((connectwise["Farid Haddad"], autotask["Farid Haddad"])))]
        assert {e["kind"] for e in farid["evidence"]} == {"same_name", "same_email"}
        # Everyone's address is at the MSP's domain: that says nothing about who is who.
        assert "same_email_domain" not in {k["kind"] for k in body["evidence_kinds"]}
    only_strong = demo.client.get(
        "/api/v1/links/suggestions", params={"kind": kind, "min_score": 0.99}, headers=demo.read
    ).json()["suggestions"]
    assert all(s["score"] >= 0.99 for s in only_strong)


def test_a_kind_outside_client_and_technician_is_refused(demo: Demo) -> None:
    response = demo.client.get(
        "/api/v1/links/suggestions", params={"kind": "board"}, headers=demo.read
    )
    assert response.status_code == 422


def test_names_match_whatever_their_case_accents_punctuation_and_legal_form() -> None:
    spellings = ["Acme Dental, Inc.", "ACME DENTAL LLC", "Acmé Dental L.L.C.", "acme  dental"]
    assert {normal_name(s, company=True) for s in spellings} == {"acme dental"}
    assert normal_name("Smith & Sons GmbH", company=True) == "smith and sons"
    assert normal_name("Inc", company=True) == "inc"  # a name that is only a legal form
    assert normal_name("José Núñez", company=False) == "jose nunez"
    assert website_host("HTTPS://www.Acme-Dental.example/contact") == "acme-dental.example"
    assert website_host("acme-dental.example:8443") == "acme-dental.example"


def test_free_mail_domains_are_no_evidence_but_a_company_domain_is() -> None:
    candidates = [
        Candidate(1, 1, "Harbor Logistics", email="owner@gmail.com"),
        Candidate(2, 2, "Harbour Freight", email="boss@gmail.com"),
        Candidate(3, 1, "Cedar Architects", email="info@cedar.example"),
        Candidate(4, 2, "Cedar Design", email="office@cedar.example", website="cedar.example"),
        Candidate(5, 2, "Cedar Architects Ltd"),
        Candidate(6, 1, "Cedar Architects Inc"),  # same source as 3: never suggested with it
    ]
    found = {(s.first.id, s.second.id): s for s in suggest(candidates, "client")}
    assert (1, 2) not in found
    assert [e.key for e in found[(3, 4)].evidence] == ["same_email_domain"]
    assert found[(3, 4)].score == pytest.approx(0.5)
    assert found[(3, 5)].score == pytest.approx(0.75)
    assert (3, 6) not in found
    assert found[(5, 6)].score >= THRESHOLD
    assert suggest(candidates, "client", skip={(3, 5)}) and (3, 5) not in {
        (s.first.id, s.second.id) for s in suggest(candidates, "client", skip={(3, 5)})
    }
