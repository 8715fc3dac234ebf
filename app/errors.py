"""Errors the API shows: a stable `code` and a message that says what to fix."""

from __future__ import annotations

from typing import Any


class NorthstarError(Exception):
    """A problem with a request, mapped to an HTTP status by the API."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class Unsupported(NorthstarError):
    """A well-formed request for something that does not exist by definition (revenue by
    day, utilisation by client)."""

    status_code = 400
    code = "not_supported"


class NotFound(NorthstarError):
    status_code = 404
    code = "not_found"


class Conflict(NorthstarError):
    status_code = 409
    code = "conflict"


class InvalidInput(NorthstarError):
    status_code = 422
    code = "invalid_input"
