"""Every error the API returns is JSON: `{"code": ..., "message": ..., "details"?: ...}`."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import NorthstarError

log = structlog.get_logger(__name__)

HTTP_CODES = {
    404: ("not_found", "There is nothing at this address. The API lives under /api/v1."),
    405: ("method_not_allowed", "This address does not accept that method."),
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        where, rest = parts[0], parts[1:]
        return f"{where} field '{'.'.join(rest)}'" if rest else f"the request {where}"
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NorthstarError)
    async def _northstar(_request: Request, exc: NorthstarError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        summary = "; ".join(f"{_location(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse(
            error_body("invalid_request", f"The request is not valid: {summary}", problems),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
        return JSONResponse(error_body(code, message), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request_crashed", path=request.url.path)
        return JSONResponse(
            error_body(
                "internal_error",
                "Northstar hit an unexpected problem. It has been logged; please try again.",
            ),
            status_code=500,
        )
