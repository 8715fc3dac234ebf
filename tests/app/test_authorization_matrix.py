"""The authorization matrix: every route of the app, in every format it answers in, x no,
wrong, revoked, read and admin key x every way a key travels (`Authorization: Bearer`,
`X-API-Key`, the scorecard page's cookie, the `api_key` query parameter). Each cell gets
the status (and error code) its route's policy says, and a route without a policy fails.

Policies (see authorization_routes.Policy): read routes take a read or an admin key in a
header or the page's cookie; admin routes take an admin key in a header only; the OData
feed takes a key in a header or its query parameter, never the cookie; health answers
anyone, in detail for a valid key; the docs answer anyone."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from authorization_routes import ROUTES, Call, Policy, World, make_world
from fastapi.routing import APIRoute, iter_route_contexts
from hardened_app import hardened_app
from leak_guard import CheckedClient

from app.api.auth_gate import KeyNeed, key_need
from app.api.deps import COOKIE_NAME
from app.security.apikeys import create_api_key, revoke_api_key
from app.security.models import KeyScope

KEYS = ("none", "wrong", "revoked", "read", "admin")
TRANSPORTS = ("bearer", "x-api-key", "cookie", "query")
ACCEPTED = {"read", "admin"}


@dataclass
class Matrix:
    client: CheckedClient
    keys: dict[str, str]
    world: World
    app: Any


@pytest.fixture
def matrix(api: Any) -> Iterator[Matrix]:
    context = api.setup.context
    with context.db.session() as session:
        keys = {
            "wrong": "ns_" + "x" * 43,
            "read": create_api_key(session, name="read", scope=KeyScope.READ).key,
            "admin": create_api_key(session, name="admin", scope=KeyScope.ADMIN).key,
        }
        revoked = create_api_key(session, name="old", scope=KeyScope.ADMIN)
        revoke_api_key(session, revoked.id)
        keys["revoked"] = revoked.key
    # Hundreds of wrong keys from one address, on purpose: not what the throttle is for here.
    app = hardened_app(context, failure_limit=1_000_000)
    with CheckedClient(app) as client:

        def post(path: str, body: Any) -> dict[str, Any]:
            response = client.post(f"/api/v1{path}", json=body, headers=api.admin)
            assert response.status_code == 201, response.text
            answer: dict[str, Any] = response.json()
            return answer

        yield Matrix(client=client, keys=keys, world=make_world(context, post), app=app)


def app_routes(app: Any) -> Iterator[tuple[str, str, Any]]:
    """(method, path template, route context) of every route, HEAD left out."""
    for context in iter_route_contexts(app.routes):
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                yield method, context.path, context


def formats_of(context: Any) -> list[str | None]:
    """The values of a route's `format` query parameter (None: the default answer)."""
    if not isinstance(context.original_route, APIRoute):
        return [None]
    for param in context.dependant.query_params:
        if param.name == "format":
            literal = next(a for a in typing.get_args(param.field_info.annotation) if a)
            return [None, *typing.get_args(literal)]
    return [None]


def expected(policy: Policy, ok: int, key: str, transport: str) -> tuple[int, str | None]:
    """The status and error code a cell must get."""
    accepted = key in ACCEPTED
    if policy is Policy.PUBLIC:
        return ok, None
    if policy is Policy.LOGOUT:
        return 303, None
    if policy is Policy.PUSH:
        return 401, "delivery_refused"
    if policy is Policy.LOGIN:
        return 401, None  # the form is empty: a key in a header or cookie signs no one in
    if policy in (Policy.PAGE, Policy.FORM_PAGE, Policy.FORM_POST):
        if transport != "cookie" or key == "none":
            return 200, None  # the sign-in form
        if not accepted:
            return 401, None
        # A key's cookie signs in read only: a planning form and its post are refused.
        return (200, None) if policy is Policy.PAGE else (403, None)
    if policy is Policy.HEALTH:
        if transport == "query" or key == "none":
            return 200, None  # the public view
        return (200, None) if accepted else (401, "api_key_invalid")
    if key == "none" or transport == ("cookie" if policy is Policy.ODATA else "query"):
        return 401, "api_key_missing"
    if not accepted:
        return 401, "api_key_invalid"
    if policy is Policy.ADMIN and transport == "cookie":
        return 403, "api_key_header_required"
    if policy is Policy.ADMIN and key == "read":
        return 403, "admin_key_required"
    return ok, None


def send(matrix: Matrix, method: str, call: Call, key: str, transport: str) -> Any:
    headers: dict[str, str] = {}
    params = dict(call.params)
    value = matrix.keys.get(key)
    if value is not None:
        if transport == "bearer":
            headers["Authorization"] = f"Bearer {value}"
        elif transport == "x-api-key":
            headers["X-API-Key"] = value
        elif transport == "cookie":
            headers["Cookie"] = f"{COOKIE_NAME}={value}"
        else:
            params["api_key"] = value
    if call.form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    matrix.client.cookies.clear()
    return matrix.client.request(
        method,
        call.path,
        params=params,
        json=call.json,
        content=call.form,
        headers=headers,
        follow_redirects=False,
    )


def error_code(response: Any) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    body = response.json()
    if not isinstance(body, dict):
        return None
    inner = body.get("error", body)
    return inner.get("code") if isinstance(inner, dict) else None


def check_body(policy: Policy, key: str, transport: str, response: Any) -> str | None:
    """What the body must show beyond the status, for the routes that answer everyone."""
    accepted = key in ACCEPTED
    if policy is Policy.HEALTH and response.status_code == 200:
        detailed = "sources" in response.json()
        if detailed != (accepted and transport != "query"):
            return f"health details shown: {detailed}"
    if policy is Policy.PAGE and response.status_code == 200:
        signed_in = "Northstar scorecard" in response.text
        if signed_in != (accepted and transport == "cookie"):
            return f"scorecard shown: {signed_in}"
    return None


def test_every_route_has_a_policy(matrix: Matrix) -> None:
    found = {(method, path) for method, path, _ in app_routes(matrix.app)}

    assert found - set(ROUTES) == set(), "routes without a policy in authorization_routes"
    assert set(ROUTES) - found == set(), "policies for routes that no longer exist"


def test_the_key_first_gate_reads_the_same_policy(matrix: Matrix) -> None:
    """The gate that refuses bodies without a key finds each route's need in its
    dependencies: it must agree with the policies written down here."""
    needs = {Policy.READ: KeyNeed.READ, Policy.ADMIN: KeyNeed.ADMIN}
    for method, path, context in app_routes(matrix.app):
        if isinstance(context.original_route, APIRoute):
            assert key_need(context.dependant) == needs.get(ROUTES[(method, path)].policy), (
                f"{method} {path}"
            )


def test_every_cell_of_the_matrix(matrix: Matrix) -> None:
    wrong: list[str] = []
    cells = 0
    for method, path, context in app_routes(matrix.app):
        recipe = ROUTES[(method, path)]
        for format_ in formats_of(context):
            for key in KEYS:
                for transport in TRANSPORTS:
                    call = recipe.call(matrix.world)
                    if format_ is not None:
                        call.params["format"] = format_
                    response = send(matrix, method, call, key, transport)
                    cells += 1
                    status, code = expected(recipe.policy, recipe.ok, key, transport)
                    got = (response.status_code, error_code(response) if code else None)
                    where = f"{method} {call.path} format={format_} key={key} via {transport}"
                    if got != (status, code):
                        wrong.append(f"{where}: {got}, expected {(status, code)}")
                    elif problem := check_body(recipe.policy, key, transport, response):
                        wrong.append(f"{where}: {problem}")
                    for secret in matrix.keys.values():
                        if secret in response.text or secret in str(response.headers):
                            wrong.append(f"{where}: a key came back in the response")
    assert cells > 1000
    assert wrong == [], f"{len(wrong)} of {cells} cells are wrong:\n" + "\n".join(wrong)
