"""The one error type of the feed, rendered in the OData JSON error format."""

from __future__ import annotations


class ODataError(Exception):
    """A request the feed refuses: `status` is the HTTP status, `code` a stable machine
    code, `message` a sentence a BI person can act on."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, dict[str, str]]:
        """`{"error": {"code": ..., "message": ...}}` as OData v4 JSON requires."""
        return {"error": {"code": self.code, "message": self.message}}


def bad_query(message: str, code: str = "invalid_query_option") -> ODataError:
    """A 400 for a query option the feed cannot understand."""
    return ODataError(400, code, message)
