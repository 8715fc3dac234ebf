"""Every answer an operation can give, written into the OpenAPI document.

FastAPI documents a route's success and (for a route with parameters) a 422 in its own
shape. Northstar answers more than that, in its own shape: a wrong key (401), a read key
asking for a change (403), an id that names nothing (404), a conflict with what is stored
(409), a body too large (413), failed keys throttled (429), a server too busy (503).
`install_openapi` completes the generated document: each operation gets the answers it can
give, read from what the document already says about it (a security scheme: it needs a key;
a change: an admin key; path parameters; a body), so it stays true as routes are added.
The OData feed answers in OData's error format, and its `$metadata` and `$count` are XML and
text.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from app.api.errors import ErrorOut

CHANGES = {"post", "put", "patch", "delete"}


class ODataErrorDetail(BaseModel):
    code: str = Field(description="A stable machine code, e.g. `unknown_property`.")
    message: str = Field(description="What to change in the query, in words.")


class ODataErrorOut(BaseModel):
    """OData v4's JSON error format."""

    error: ODataErrorDetail


def _error(description: str, model: str = "ErrorOut") -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


EVERY_REQUEST = {
    "400": _error(
        "The request cannot be read (malformed JSON, a body not in UTF-8, a bad "
        "Content-Length), or asks for what does not exist by definition (see `code`)."
    ),
    "431": _error("The request headers are larger than Northstar accepts."),
    "503": _error("Northstar is busy: try again after the `Retry-After` seconds."),
}
WITH_KEY = {
    "401": _error("No API key, or one that is unknown or revoked (see `code`)."),
    "429": _error("Too many wrong API keys from this address: wait `Retry-After` seconds."),
}
A_CHANGE = {
    "403": _error(
        "A read key, or a key sent only as the sign-in cookie: changes need an admin key "
        "in the `Authorization` or `X-API-Key` header."
    ),
    "409": _error("Conflicts with what is stored, e.g. a name already taken (see `code`)."),
}
WITH_PATH = {"404": _error("Nothing has that id or key (see `code`).")}
WITH_PARAMETERS = {
    "422": _error(
        "A parameter or field is not valid: `details` names each (`field`) and says what "
        "to change (`problem`)."
    ),
}
WITH_BODY = {"413": _error("The request body is larger than Northstar accepts.")}
ODATA = {
    "400": _error("A query option the feed cannot apply (see the message).", "ODataErrorOut"),
    "401": _error("No API key, or one that is unknown or revoked.", "ODataErrorOut"),
    "404": _error("No such entity set.", "ODataErrorOut"),
    "429": _error("Too many wrong API keys from this address.", "ODataErrorOut"),
    # Answered before the feed sees the request, so in the API's error shape.
    "431": EVERY_REQUEST["431"],
    "503": EVERY_REQUEST["503"],
}
ODATA_SUCCESS = {
    "/odata/$metadata": {"application/xml": {"schema": {"type": "string"}}},
    "/odata/{name}/$count": {"text/plain": {"schema": {"type": "string"}}},
}


def operation_answers(path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The error answers an operation can give, from what the document says about it."""
    if path.startswith("/odata"):
        return dict(ODATA)
    answers = dict(EVERY_REQUEST)
    keyed = bool(operation.get("security"))
    if keyed:
        answers.update(WITH_KEY)
        if method in CHANGES:
            answers.update(A_CHANGE)
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):
        answers.update(WITH_PATH)
    if parameters or "requestBody" in operation:
        answers.update(WITH_PARAMETERS)
    if "requestBody" in operation:
        answers.update(WITH_BODY)
    return answers


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add every operation's error answers (what an operation declares itself is kept,
    except FastAPI's own 422 shape, which Northstar never answers with)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, ODataErrorOut):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            declared_422 = responses.get("422", {})
            if "HTTPValidationError" in str(declared_422.get("content", {})):
                del responses["422"]
            for status, answer in operation_answers(path, method, operation).items():
                declared = responses.setdefault(status, copy.deepcopy(answer))
                declared.setdefault("content", copy.deepcopy(answer["content"]))
            if path in ODATA_SUCCESS and "200" in responses:
                responses["200"]["content"] = ODATA_SUCCESS[path]
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in str(document.get("paths")):
            schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at the app's `openapi_url`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
