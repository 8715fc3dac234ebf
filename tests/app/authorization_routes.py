"""Every route of the app, with the key policy it must follow and a request that succeeds
when the key is accepted (valid ids, valid bodies), for the authorization matrix.

A route added to the app without an entry here fails the matrix: its policy has to be
decided, not inherited by accident."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fake_psa import TOKEN, add_fake_source

from app.api.context import ServiceContext


class Policy(StrEnum):
    PUBLIC = "public"  # the API docs: anyone, keys ignored
    HEALTH = "health"  # anyone; a key sent must be valid, and a valid one sees details
    PAGE = "page"  # the scorecard: its cookie only; the sign-in form otherwise
    FORM_PAGE = "form_page"  # a planning form: a person who may edit; a key's cookie reads
    FORM_POST = "form_post"  # a planning form's post: a person's session and CSRF token
    LOGIN = "login"  # takes a key from its form only
    LOGOUT = "logout"  # anyone (it only forgets the cookie)
    READ = "read"  # a read or admin key, in a header or the page's cookie
    ADMIN = "admin"  # an admin key, in a header (a cookie is sent without asking)
    ODATA = "odata"  # a read or admin key, in a header or the `api_key` query parameter
    PUSH = "push"  # a PSA's change notice: its URL token (and signature) only, keys ignored


@dataclass
class Call:
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    form: str | None = None


@dataclass
class World:
    """What the requests name: made once, through the API, with the admin key."""

    context: ServiceContext
    source_id: int
    objective_id: int
    goal_id: int
    milestone_id: int
    check_in_id: int
    post: Callable[[str, Any], dict[str, Any]]
    channel_id: int = 0
    rule_id: int = 0
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def unique(self, stem: str) -> str:
        return f"{stem}{next(self.counter)}"

    def objective(self) -> int:
        return int(self.post("/objectives", {"title": self.unique("Objective ")})["id"])

    def goal(self) -> int:
        return int(self.post("/goals", goal_body(self.objective_id))["id"])

    def milestone(self) -> int:
        return int(self.post(f"/goals/{self.goal_id}/milestones", MILESTONE)["id"])

    def check_in(self) -> int:
        return int(self.post("/check-ins", {"goal_id": self.goal_id, "confidence": 7})["id"])

    def story(self) -> int:
        story = {"kind": "client", "text": "They called to thank us."}
        return int(self.post("/stories", story)["id"])

    def source(self) -> int:
        return add_fake_source(self.context, name=self.unique("Fake PSA "))

    def channel(self) -> int:
        return int(self.post("/alerts/channels", channel_body(self.unique("Channel ")))["id"])

    def rule(self) -> int:
        return int(
            self.post("/alerts/rules", {"channel_id": self.channel_id, "event": "milestone"})["id"]
        )

    def client(self) -> int:
        """A new client row of the matrix's source (what a sync would store)."""
        from app.facts.models import ClientRow

        with self.context.db.session() as session:
            row = ClientRow(
                source_id=self.source_id, external_id=self.unique("c"), name=self.unique("Client ")
            )
            session.add(row)
            session.flush()
            return row.id

    def technician(self) -> int:
        from app.facts.models import TechnicianRow

        with self.context.db.session() as session:
            row = TechnicianRow(
                source_id=self.source_id, external_id=self.unique("t"), name=self.unique("Tech ")
            )
            session.add(row)
            session.flush()
            return row.id

    def link(self) -> int:
        members = [self.client(), self.client()]
        return int(self.post("/links", {"kind": "client", "members": members})["id"])


MANUAL_KPI = "team_confidence"
MILESTONE = {"due_date": "2025-03-01", "target": 2}


def goal_body(objective_id: int) -> dict[str, Any]:
    return {
        "objective_id": objective_id,
        "title": "Tickets closed up",
        "kpi": "tickets_closed",
        "kind": "increase",
        "baseline": 1,
        "target": 3,
        "start_date": "2025-01-01",
        "due_date": "2025-06-01",
    }


# Nothing listens on port 9 of loopback: a test message is refused at once (and retried).
UNREACHABLE_CHANNEL_URL = "http://127.0.0.1:9/matrix-channel-path"


def channel_body(name: str) -> dict[str, Any]:
    return {"name": name, "kind": "teams", "config": {"url": UNREACHABLE_CHANNEL_URL}}


def make_world(context: ServiceContext, post: Callable[[str, Any], dict[str, Any]]) -> World:
    post("/kpis", {"key": MANUAL_KPI, "name": "Team confidence", "min": 1, "max": 10})
    objective_id = int(post("/objectives", {"title": "Clients trust us"})["id"])
    goal_id = int(post("/goals", goal_body(objective_id))["id"])
    world = World(
        context=context,
        source_id=add_fake_source(context, name="Matrix PSA"),
        objective_id=objective_id,
        goal_id=goal_id,
        milestone_id=int(post(f"/goals/{goal_id}/milestones", MILESTONE)["id"]),
        check_in_id=int(post("/check-ins", {"goal_id": goal_id, "confidence": 6})["id"]),
        post=post,
    )
    world.channel_id = world.channel()
    world.rule_id = world.rule()
    return world


@dataclass(frozen=True)
class Recipe:
    policy: Policy
    ok: int  # the status when the key is accepted
    call: Callable[[World], Call]


def _at(path: str, **params: str) -> Callable[[World], Call]:
    return lambda w: Call(path.format(w=w), dict(params))


V1 = "/api/v1"


def _three_member_link(w: World) -> Call:
    link_id, member = w.link(), w.client()
    w.post(f"/links/{link_id}/members", {"member": member})
    return Call(f"{V1}/links/{link_id}/members/{member}")


R = Recipe
P = Policy

ROUTES: dict[tuple[str, str], Recipe] = {
    ("GET", f"{V1}/openapi.json"): R(P.PUBLIC, 200, _at(f"{V1}/openapi.json")),
    ("GET", f"{V1}/docs"): R(P.PUBLIC, 200, _at(f"{V1}/docs")),
    ("GET", "/docs/oauth2-redirect"): R(P.PUBLIC, 200, _at("/docs/oauth2-redirect")),
    ("GET", f"{V1}/health"): R(P.HEALTH, 200, _at(f"{V1}/health")),
    # No push is registered in the matrix's world: a key opens nothing, every cell is refused.
    ("POST", f"{V1}/push/{{source_id}}/{{token}}"): R(
        P.PUSH, 401, lambda w: Call(f"{V1}/push/{w.source_id}/not-its-token", json={})
    ),
    ("GET", f"{V1}/connectors"): R(P.READ, 200, _at(f"{V1}/connectors")),
    ("GET", f"{V1}/sources"): R(P.READ, 200, _at(f"{V1}/sources")),
    ("POST", f"{V1}/sources"): R(
        P.ADMIN,
        201,
        lambda w: Call(
            f"{V1}/sources",
            json={"name": w.unique("New PSA "), "kind": "fakepsa", "config": {"api_token": TOKEN}},
        ),
    ),
    ("GET", f"{V1}/sources/{{source_id}}"): R(P.READ, 200, _at(V1 + "/sources/{w.source_id}")),
    ("PATCH", f"{V1}/sources/{{source_id}}"): R(
        P.ADMIN,
        200,
        lambda w: Call(f"{V1}/sources/{w.source_id}", json={"name": w.unique("Matrix PSA ")}),
    ),
    ("DELETE", f"{V1}/sources/{{source_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/sources/{w.source()}")
    ),
    ("POST", f"{V1}/sources/{{source_id}}/check"): R(
        P.ADMIN, 200, _at(V1 + "/sources/{w.source_id}/check")
    ),
    ("POST", f"{V1}/sources/{{source_id}}/sync"): R(
        P.ADMIN, 202, _at(V1 + "/sources/{w.source_id}/sync")
    ),
    ("GET", f"{V1}/sources/{{source_id}}/runs"): R(
        P.READ, 200, _at(V1 + "/sources/{w.source_id}/runs")
    ),
    ("GET", f"{V1}/sources/{{source_id}}/quarantine"): R(
        P.READ, 200, _at(V1 + "/sources/{w.source_id}/quarantine")
    ),
    ("GET", f"{V1}/kpis"): R(P.READ, 200, _at(f"{V1}/kpis")),
    ("POST", f"{V1}/kpis"): R(
        P.ADMIN, 201, lambda w: Call(f"{V1}/kpis", json={"key": w.unique("pulse_"), "name": "P"})
    ),
    ("GET", f"{V1}/kpis/{{key}}"): R(P.READ, 200, _at(f"{V1}/kpis/tickets_closed")),
    ("GET", f"{V1}/kpis/{{key}}/values"): R(P.READ, 200, _at(f"{V1}/kpis/tickets_closed/values")),
    ("GET", f"{V1}/kpis/{{key}}/breakdown"): R(
        P.READ, 200, _at(f"{V1}/kpis/tickets_closed/breakdown", by="client", period="2025-01")
    ),
    ("POST", f"{V1}/kpis/{{key}}/observations"): R(
        P.ADMIN,
        200,
        lambda w: Call(
            f"{V1}/kpis/{MANUAL_KPI}/observations", json=[{"date": "2025-02-03", "value": 7}]
        ),
    ),
    ("GET", f"{V1}/kpis/{{key}}/observations"): R(
        P.READ, 200, _at(f"{V1}/kpis/{MANUAL_KPI}/observations")
    ),
    ("GET", f"{V1}/clients"): R(P.READ, 200, _at(f"{V1}/clients")),
    ("GET", f"{V1}/clients/{{client_id}}"): R(
        P.READ, 200, lambda w: Call(f"{V1}/clients/{w.client()}")
    ),
    ("GET", f"{V1}/technicians"): R(P.READ, 200, _at(f"{V1}/technicians")),
    ("GET", f"{V1}/technicians/{{technician_id}}"): R(
        P.READ, 200, lambda w: Call(f"{V1}/technicians/{w.technician()}")
    ),
    ("GET", f"{V1}/links/suggestions"): R(
        P.READ, 200, _at(f"{V1}/links/suggestions", kind="client")
    ),
    ("POST", f"{V1}/links/suggestions/reject"): R(
        P.ADMIN,
        201,
        lambda w: Call(
            f"{V1}/links/suggestions/reject",
            json={"kind": "client", "first": w.client(), "second": w.client()},
        ),
    ),
    ("GET", f"{V1}/links"): R(P.READ, 200, _at(f"{V1}/links")),
    ("POST", f"{V1}/links"): R(
        P.ADMIN,
        201,
        lambda w: Call(f"{V1}/links", json={"kind": "client", "members": [w.client(), w.client()]}),
    ),
    ("GET", f"{V1}/links/{{link_id}}"): R(P.READ, 200, lambda w: Call(f"{V1}/links/{w.link()}")),
    ("PATCH", f"{V1}/links/{{link_id}}"): R(
        P.ADMIN, 200, lambda w: Call(f"{V1}/links/{w.link()}", json={"name": "Linked"})
    ),
    ("DELETE", f"{V1}/links/{{link_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/links/{w.link()}")
    ),
    ("POST", f"{V1}/links/{{link_id}}/members"): R(
        P.ADMIN,
        201,
        lambda w: Call(f"{V1}/links/{w.link()}/members", json={"member": w.client()}),
    ),
    ("DELETE", f"{V1}/links/{{link_id}}/members/{{member_id}}"): R(
        P.ADMIN, 200, lambda w: _three_member_link(w)
    ),
    ("GET", f"{V1}/objectives"): R(P.READ, 200, _at(f"{V1}/objectives")),
    ("POST", f"{V1}/objectives"): R(
        P.ADMIN, 201, lambda w: Call(f"{V1}/objectives", json={"title": w.unique("Plan ")})
    ),
    ("GET", f"{V1}/objectives/{{objective_id}}"): R(
        P.READ, 200, _at(V1 + "/objectives/{w.objective_id}")
    ),
    ("PATCH", f"{V1}/objectives/{{objective_id}}"): R(
        P.ADMIN,
        200,
        lambda w: Call(f"{V1}/objectives/{w.objective_id}", json={"purpose": "Renewals"}),
    ),
    ("DELETE", f"{V1}/objectives/{{objective_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/objectives/{w.objective()}")
    ),
    ("GET", f"{V1}/goals"): R(P.READ, 200, _at(f"{V1}/goals")),
    ("POST", f"{V1}/goals"): R(
        P.ADMIN, 201, lambda w: Call(f"{V1}/goals", json=goal_body(w.objective_id))
    ),
    ("GET", f"{V1}/goals/{{goal_id}}"): R(P.READ, 200, _at(V1 + "/goals/{w.goal_id}")),
    ("PATCH", f"{V1}/goals/{{goal_id}}"): R(
        P.ADMIN, 200, lambda w: Call(f"{V1}/goals/{w.goal_id}", json={"title": "Closed up"})
    ),
    ("DELETE", f"{V1}/goals/{{goal_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/goals/{w.goal()}")
    ),
    ("GET", f"{V1}/goals/{{goal_id}}/milestones"): R(
        P.READ, 200, _at(V1 + "/goals/{w.goal_id}/milestones")
    ),
    ("POST", f"{V1}/goals/{{goal_id}}/milestones"): R(
        P.ADMIN,
        201,
        lambda w: Call(
            f"{V1}/goals/{w.goal_id}/milestones", json={"due_date": "2025-04-01", "target": 2.5}
        ),
    ),
    ("PATCH", f"{V1}/milestones/{{milestone_id}}"): R(
        P.ADMIN,
        200,
        lambda w: Call(f"{V1}/milestones/{w.milestone_id}", json={"title": "Checkpoint"}),
    ),
    ("DELETE", f"{V1}/milestones/{{milestone_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/milestones/{w.milestone()}")
    ),
    ("GET", f"{V1}/check-ins"): R(P.READ, 200, _at(f"{V1}/check-ins")),
    ("POST", f"{V1}/check-ins"): R(
        P.ADMIN,
        201,
        lambda w: Call(f"{V1}/check-ins", json={"goal_id": w.goal_id, "confidence": 8}),
    ),
    ("GET", f"{V1}/check-ins/{{check_in_id}}"): R(
        P.READ, 200, _at(V1 + "/check-ins/{w.check_in_id}")
    ),
    ("PATCH", f"{V1}/check-ins/{{check_in_id}}"): R(
        P.ADMIN, 200, lambda w: Call(f"{V1}/check-ins/{w.check_in_id}", json={"confidence": 5})
    ),
    ("DELETE", f"{V1}/check-ins/{{check_in_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/check-ins/{w.check_in()}")
    ),
    ("POST", f"{V1}/objectives/{{objective_id}}/archive"): R(
        P.ADMIN, 200, lambda w: Call(f"{V1}/objectives/{w.objective()}/archive")
    ),
    ("POST", f"{V1}/objectives/{{objective_id}}/restore"): R(
        P.ADMIN, 200, _at(V1 + "/objectives/{w.objective_id}/restore")
    ),
    ("GET", f"{V1}/objectives/{{objective_id}}/history"): R(
        P.READ, 200, _at(V1 + "/objectives/{w.objective_id}/history")
    ),
    ("POST", f"{V1}/goals/{{goal_id}}/archive"): R(
        P.ADMIN, 200, lambda w: Call(f"{V1}/goals/{w.goal()}/archive")
    ),
    ("POST", f"{V1}/goals/{{goal_id}}/restore"): R(
        P.ADMIN, 200, _at(V1 + "/goals/{w.goal_id}/restore")
    ),
    ("GET", f"{V1}/goals/{{goal_id}}/history"): R(
        P.READ, 200, _at(V1 + "/goals/{w.goal_id}/history")
    ),
    ("GET", f"{V1}/stories"): R(P.READ, 200, _at(f"{V1}/stories")),
    ("POST", f"{V1}/stories"): R(
        P.ADMIN, 201, lambda w: Call(f"{V1}/stories", json={"kind": "employee", "text": "Calm."})
    ),
    ("GET", f"{V1}/stories/{{story_id}}"): R(
        P.READ, 200, lambda w: Call(f"{V1}/stories/{w.story()}")
    ),
    ("PATCH", f"{V1}/stories/{{story_id}}"): R(
        P.ADMIN, 200, lambda w: Call(f"{V1}/stories/{w.story()}", json={"text": "Changed."})
    ),
    ("DELETE", f"{V1}/stories/{{story_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/stories/{w.story()}")
    ),
    ("GET", f"{V1}/alignment"): R(P.READ, 200, _at(f"{V1}/alignment")),
    ("GET", f"{V1}/goals/{{goal_id}}/alignment"): R(
        P.READ, 200, _at(V1 + "/goals/{w.goal_id}/alignment")
    ),
    ("GET", f"{V1}/reviews/{{quarter}}"): R(P.READ, 200, _at(f"{V1}/reviews/2025-Q1")),
    ("GET", f"{V1}/alerts/channels"): R(P.ADMIN, 200, _at(f"{V1}/alerts/channels")),
    ("POST", f"{V1}/alerts/channels"): R(
        P.ADMIN, 201, lambda w: Call(f"{V1}/alerts/channels", json=channel_body(w.unique("C ")))
    ),
    ("GET", f"{V1}/alerts/channels/{{channel_id}}"): R(
        P.ADMIN, 200, _at(V1 + "/alerts/channels/{w.channel_id}")
    ),
    ("PATCH", f"{V1}/alerts/channels/{{channel_id}}"): R(
        P.ADMIN,
        200,
        lambda w: Call(f"{V1}/alerts/channels/{w.channel_id}", json={"name": w.unique("Ch ")}),
    ),
    ("DELETE", f"{V1}/alerts/channels/{{channel_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/alerts/channels/{w.channel()}")
    ),
    ("POST", f"{V1}/alerts/channels/{{channel_id}}/test"): R(
        P.ADMIN, 200, _at(V1 + "/alerts/channels/{w.channel_id}/test")
    ),
    ("GET", f"{V1}/alerts/channels/{{channel_id}}/deliveries"): R(
        P.READ, 200, _at(V1 + "/alerts/channels/{w.channel_id}/deliveries")
    ),
    ("GET", f"{V1}/alerts/rules"): R(P.READ, 200, _at(f"{V1}/alerts/rules")),
    ("POST", f"{V1}/alerts/rules"): R(
        P.ADMIN,
        201,
        lambda w: Call(
            f"{V1}/alerts/rules", json={"channel_id": w.channel_id, "event": "milestone"}
        ),
    ),
    ("GET", f"{V1}/alerts/rules/{{rule_id}}"): R(
        P.READ, 200, _at(V1 + "/alerts/rules/{w.rule_id}")
    ),
    ("PATCH", f"{V1}/alerts/rules/{{rule_id}}"): R(
        P.ADMIN,
        200,
        lambda w: Call(f"{V1}/alerts/rules/{w.rule_id}", json={"quiet_hours": 12}),
    ),
    ("DELETE", f"{V1}/alerts/rules/{{rule_id}}"): R(
        P.ADMIN, 204, lambda w: Call(f"{V1}/alerts/rules/{w.rule()}")
    ),
    ("GET", "/metrics"): R(P.READ, 200, _at("/metrics")),
    ("GET", "/odata/"): R(P.ODATA, 200, _at("/odata/")),
    ("GET", "/odata"): R(P.ODATA, 200, _at("/odata")),
    ("GET", "/odata/$metadata"): R(P.ODATA, 200, _at("/odata/$metadata")),
    ("GET", "/odata/{name}"): R(P.ODATA, 200, _at("/odata/Tickets", **{"$top": "2"})),
    ("GET", "/odata/{name}/$count"): R(P.ODATA, 200, _at("/odata/Tickets/$count")),
    ("GET", "/odata/{name:path}/{nav}"): R(
        P.ODATA, 200, _at("/odata/Goals({w.goal_id})/Objective")
    ),
    ("GET", "/odata/{rest:path}"): R(P.ODATA, 404, _at("/odata/Tickets(1)")),
    **{
        (method, "/odata/{rest:path}"): R(P.ODATA, 405, _at("/odata/Tickets"))
        for method in ("POST", "PUT", "PATCH", "DELETE")
    },
    ("GET", "/"): R(P.PAGE, 200, _at("/")),
    ("GET", "/goals/{goal_id}"): R(P.PAGE, 200, _at("/goals/{w.goal_id}")),
    ("GET", "/kpis"): R(P.PAGE, 200, _at("/kpis")),
    ("GET", "/kpis/{kpi_key}"): R(P.PAGE, 200, _at("/kpis/sla_response_pct")),
    ("POST", "/login"): R(P.LOGIN, 303, lambda w: Call("/login", form="api_key=")),
    ("GET", "/plan"): R(P.PAGE, 200, _at("/plan")),
    ("GET", "/reviews/{quarter}"): R(P.PAGE, 200, _at("/reviews/2025-Q1")),
    ("GET", "/alerts"): R(P.PAGE, 200, _at("/alerts")),
    ("GET", "/alerts/channels/{channel_id}"): R(
        P.PAGE, 200, _at("/alerts/channels/{w.channel_id}")
    ),
    **{
        ("GET", path): R(P.FORM_PAGE, 403, _at(example))
        for path, example in (
            ("/plan/objectives/new", "/plan/objectives/new"),
            ("/plan/objectives/{objective_id}/edit", "/plan/objectives/{w.objective_id}/edit"),
            ("/plan/goals/new", "/plan/goals/new"),
            ("/plan/goals/{goal_id}/edit", "/plan/goals/{w.goal_id}/edit"),
            ("/plan/milestones/new", "/plan/milestones/new?goal_id={w.goal_id}"),
            ("/plan/milestones/{milestone_id}/edit", "/plan/milestones/{w.milestone_id}/edit"),
            ("/plan/check-ins/new", "/plan/check-ins/new?goal_id={w.goal_id}"),
            ("/plan/kpis/new", "/plan/kpis/new"),
            ("/plan/kpis/{key}/record", f"/plan/kpis/{MANUAL_KPI}/record"),
            ("/plan/stories/new", "/plan/stories/new"),
            # Owners only, and /account a person's own: a key's cookie (read only) is refused.
            ("/people", "/people"),
            ("/account", "/account"),
        )
    },
    **{
        ("POST", path): R(
            P.FORM_POST, 403, lambda w, e=example: Call(e.format(w=w), form="title=x")
        )
        for path, example in (
            ("/plan/objectives", "/plan/objectives"),
            ("/plan/objectives/{objective_id}", "/plan/objectives/{w.objective_id}"),
            ("/plan/objectives/{objective_id}/{verb}", "/plan/objectives/{w.objective_id}/archive"),
            ("/plan/goals", "/plan/goals"),
            ("/plan/goals/{goal_id}", "/plan/goals/{w.goal_id}"),
            ("/plan/goals/{goal_id}/{verb}", "/plan/goals/{w.goal_id}/archive"),
            ("/plan/milestones", "/plan/milestones"),
            ("/plan/milestones/{milestone_id}", "/plan/milestones/{w.milestone_id}"),
            ("/plan/milestones/{milestone_id}/delete", "/plan/milestones/{w.milestone_id}/delete"),
            ("/plan/check-ins", "/plan/check-ins"),
            ("/plan/kpis", "/plan/kpis"),
            ("/plan/kpis/{key}/{how}", f"/plan/kpis/{MANUAL_KPI}/pulse"),
            ("/plan/stories", "/plan/stories"),
            ("/alerts/channels", "/alerts/channels"),
            ("/alerts/channels/{channel_id}/{verb}", "/alerts/channels/{w.channel_id}/test"),
            ("/alerts/rules", "/alerts/rules"),
            ("/alerts/rules/{rule_id}/{verb}", "/alerts/rules/{w.rule_id}/delete"),
            ("/people", "/people"),
            ("/people/{user_id}/{verb}", "/people/1/disable"),
            ("/account", "/account"),
        )
    },
    ("POST", "/logout"): R(P.LOGOUT, 303, _at("/logout")),
}
