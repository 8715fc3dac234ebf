"""The key is checked before the body is read.

FastAPI reads and parses a request's body before it runs the route's dependencies, so a
route's API-key check comes too late to spare the server a large body sent without a key.
`KeyFirstMiddleware` runs in front of the routes: a request that carries a body, to a route
whose dependencies ask for a key (`require_read` / `require_admin`), has its key checked
(present, valid, not throttled, admin where the route needs it) before a byte of the body is
read, and is answered 401/403/429 without reading it. The route checks the key again as
usual; requests without a body pass straight through.

`install_auth_gate(app)` adds the middleware and the 429 handler that writes `Retry-After`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.context import ServiceContext
from app.api.deps import authenticate_request, check_admin, require_admin, require_read
from app.api.errors import error_body
from app.api.throttle import TooManyFailedKeys
from app.errors import NorthstarError


class KeyNeed(StrEnum):
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class KeyedRoute:
    path_regex: re.Pattern[str]
    methods: frozenset[str]
    need: KeyNeed


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def key_need(dependant: Dependant) -> KeyNeed | None:
    """What key a route's dependencies ask for; None for a public route."""
    calls = set(_calls(dependant))
    if require_admin in calls:
        return KeyNeed.ADMIN
    if require_read in calls:
        return KeyNeed.READ
    return None


def keyed_routes(app: FastAPI) -> list[KeyedRoute]:
    """Every route of `app` that needs a key, in matching order."""
    found: list[KeyedRoute] = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        need = key_need(context.dependant)
        if need is not None:
            found.append(KeyedRoute(context.path_regex, frozenset(context.methods or ()), need))
    return found


def _carries_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
    return False


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


class KeyFirstMiddleware:
    """Answers a keyed request with a body 401/403/429 before the body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: list[KeyedRoute] | None = None

    def _need(self, scope: Scope) -> KeyNeed | None:
        if self._routes is None:
            # Built on the first request, when every router has been included.
            self._routes = keyed_routes(scope["app"])
        path, method = _route_path(scope), scope["method"]
        for route in self._routes:
            if method in route.methods and route.path_regex.match(path):
                return route.need
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _carries_body(scope):
            await self.app(scope, receive, send)
            return
        need = self._need(scope)
        if need is not None:
            refusal = await run_in_threadpool(_refusal, Request(scope), need)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(request: Request, need: KeyNeed) -> JSONResponse | None:
    context: ServiceContext = request.app.state.context
    try:
        with context.db.session() as session:
            key, presented = authenticate_request(session, request)
            if need is KeyNeed.ADMIN:
                check_admin(key, presented)
    except NorthstarError as error:
        return error_response(error)
    return None


def error_response(error: NorthstarError) -> JSONResponse:
    """The API's JSON error for `error`, with its headers (`Retry-After` for a 429)."""
    headers: dict[str, str] | None = getattr(error, "headers", None)
    return JSONResponse(
        error_body(error.code, error.message, error.details),
        status_code=error.status_code,
        headers=headers,
    )


async def _too_many_failed_keys(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TooManyFailedKeys)
    return error_response(exc)


def install_auth_gate(app: FastAPI) -> None:
    """Add the key-first middleware and the 429 handler to `app` (once)."""
    if getattr(app.state, "auth_gate_installed", False):
        return
    app.add_middleware(KeyFirstMiddleware)
    app.add_exception_handler(TooManyFailedKeys, _too_many_failed_keys)
    app.state.auth_gate_installed = True
