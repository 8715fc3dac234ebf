"""Every error the API returns is JSON: `{"code": ..., "message": ..., "details"?: ...}`.

Each cause has its own stable `code` (what a script can test) and a `message` written for
the person reading it, saying what to change. The OData feed answers in OData's own error
format (`app.bi.odata.errors`); everything else answers in this one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import NorthstarError
from app.inputs import ID_MAX, VALUE_LIMIT

log = structlog.get_logger(__name__)


class ErrorOut(BaseModel):
    """The body of every error answer outside the OData feed."""

    code: str = Field(description="A stable machine code for the cause, e.g. `goal_not_found`.")
    message: str = Field(description="What went wrong and what to change, in words.")
    details: Any = Field(
        None,
        description="For a request that is not valid: one `{field, problem, code}` per "
        "problem, `field` as `body.due_date` or `query.from`.",
    )


HTTP_CODES = {
    404: ("not_found", "There is nothing at this address. The API lives under /api/v1."),
    405: ("method_not_allowed", "This address does not accept that method."),
}

# Validation problems that are a cause of their own: their code is the answer's `code`
# when every problem of a request is of that kind.
OWN_CODES = {
    "date_format": "invalid_date",
    "date_invalid": "invalid_date",
    "date_out_of_range": "date_out_of_range",
    "null_not_allowed": "null_not_allowed",
    "observations_shape": "invalid_request",
}
INT_BOUND = {"less_than_equal", "greater_than_equal"}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        where, rest = parts[0], parts[1:]
        return f"{where} field '{'.'.join(rest)}'" if rest else f"the request {where}"
    return ".".join(parts)


def validation_problem(error: dict[str, Any]) -> str:
    """The message of one validation problem, in words that name no internal type."""
    kind = error["type"]
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        if _not_json(error):
            return "the body must be JSON, sent with `Content-Type: application/json`"
        return "should be a JSON object"
    if kind == "missing":
        return "is required" if len(error["loc"]) > 1 else "a JSON body is required"
    if kind == "extra_forbidden":
        return "is not a field of this request; check its spelling"
    if kind == "int_parsing":
        return "should be a whole number"
    if kind in INT_BOUND and error.get("ctx", {}).get("le") == ID_MAX:
        return f"should be a whole number from 1 to {ID_MAX}"
    return str(error["msg"])


def _not_json(error: dict[str, Any]) -> bool:
    """A body sent as something other than JSON (no or another Content-Type)."""
    return tuple(error["loc"]) == ("body",) and isinstance(error.get("input"), bytes)


def _validation_code(errors: list[dict[str, Any]]) -> str:
    if any(_not_json(e) for e in errors):
        return "body_not_json"
    if any(tuple(e["loc"]) == ("body",) and e["type"] == "missing" for e in errors):
        return "body_missing"
    codes = {OWN_CODES.get(e["type"], "invalid_request") for e in errors}
    if len(codes) == 1:
        return codes.pop()
    return "invalid_request"


def _malformed_json(error: dict[str, Any], document: Any) -> JSONResponse:
    """JSON that does not parse: where (line and column), and what the parser expected."""
    position = error["loc"][1] if len(error["loc"]) > 1 else 0
    text = document if isinstance(document, str) else ""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = error.get("ctx", {}).get("error", "JSON decode error")
    message = (
        f"The request body is not valid JSON: {reason} at line {line}, column {column}. "
        "Check for a missing comma, quote or bracket there."
    )
    return JSONResponse(
        error_body("malformed_json", message, [{"line": line, "column": column}]),
        status_code=400,
    )


def _unreadable_body(cause: BaseException | None) -> tuple[str, str]:
    """(code, message) for a body that could not be read as JSON at all."""
    if isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start : cause.start + 1].hex()
        return (
            "invalid_utf8",
            f"The request body is not valid UTF-8 (byte 0x{byte} at position "
            f"{cause.start + 1}). Send JSON text encoded as UTF-8.",
        )
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return (
            "number_too_long",
            "A number in the request body has thousands of digits, more than Northstar reads. "
            f"Numbers it takes lie between {-VALUE_LIMIT:,.0f} and {VALUE_LIMIT:,.0f}; ids "
            f"are at most {ID_MAX}.",
        )
    if isinstance(cause, RecursionError):
        return (
            "json_too_deep",
            "The request body nests arrays or objects too deeply to read. Send a flatter body.",
        )
    return ("unreadable_body", "The request body cannot be read as JSON.")


_TEMPLATE_PARAMETER = re.compile(r"\\{[^/}]+\\}")


def allowed_methods(request: Request) -> list[str]:
    """Every method the API documents at the request's path (a route may share its path
    with others: `GET` and `POST /goals` are two routes)."""
    document = request.app.openapi()
    path = request.url.path
    methods: set[str] = set()
    for template, operations in document.get("paths", {}).items():
        pattern = _TEMPLATE_PARAMETER.sub("[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods.update(method.upper() for method in operations)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _number_too_large() -> JSONResponse:
    return error_response(
        422,
        "number_too_large",
        "A number in the request is larger than any Northstar stores: ids are whole numbers "
        f"from 1 to {ID_MAX}.",
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NorthstarError)
    async def _northstar(_request: Request, exc: NorthstarError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if errors and errors[0]["type"] == "json_invalid":
            return _malformed_json(errors[0], exc.body)
        problems = [
            {
                "field": ".".join(str(p) for p in e["loc"]),
                "problem": validation_problem(e),
                "code": e["type"],
            }
            for e in errors
        ]
        summary = "; ".join(
            f"{_location(tuple(e['loc']))}: {validation_problem(e).rstrip('.')}" for e in errors
        )
        return JSONResponse(
            error_body(_validation_code(errors), f"The request is not valid: {summary}.", problems),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        own_code = getattr(exc, "code", None)
        if isinstance(own_code, str):  # raised by Northstar itself (the request limits)
            code, message = own_code, str(exc.detail)
        elif exc.status_code == 400 and exc.__cause__ is not None:
            code, message = _unreadable_body(exc.__cause__)
        else:
            code, message = HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # A 405 says which methods the address takes (`Allow`), as HTTP asks.
            allowed = allowed_methods(request) or headers.get("Allow", "").split(", ")
            headers["Allow"] = ", ".join(method for method in allowed if method)
            message = f"This address does not accept {request.method}; it takes {headers['Allow']}."
        return error_response(exc.status_code, code, message, headers=headers)

    # Routes bound their ids (`app.api.params`); these catch a number no database column
    # can hold that reached a query anyway: SQLite cannot bind one past 64 bits, PostgreSQL
    # refuses one past its column's type. Nothing is stored under it, so the request is wrong.
    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        if "too large to convert" not in str(exc):
            return await _unexpected(request, exc)
        return _number_too_large()

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        if type(exc.orig).__name__ != "NumericValueOutOfRange":
            return await _unexpected(request, exc)
        return _number_too_large()

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
