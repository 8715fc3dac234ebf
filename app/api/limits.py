"""Size limits on what a client sends: the headers and the body of one request.

`RequestLimits` is a pure ASGI middleware: a body declared too large by `Content-Length` is
refused before a byte of it is read, and a body sent in chunks is counted as it arrives and
refused the moment it passes the limit. No body over the limit is ever held in memory.
`server_options` gives uvicorn the same header limit, so an oversized header is refused by
the HTTP parser itself before the app sees it.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_body
from app.settings import Settings


def _size_words(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size:,} bytes"


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit; answered as a 413."""

    code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"The request body is larger than the {_size_words(limit)} Northstar accepts "
            "(NORTHSTAR_MAX_BODY_BYTES). Send fewer items at once, e.g. observations in "
            "batches.",
        )


class RequestLimits:
    """Refuse headers over `max_header_bytes` (431) and bodies over `max_body_bytes` (413)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(name) + len(value) + 4 for name, value in headers) > self.max_header_bytes:
            message = (
                f"The request headers are larger than the {_size_words(self.max_header_bytes)} "
                "Northstar accepts (NORTHSTAR_MAX_HEADER_BYTES). Send fewer or shorter "
                "headers and cookies."
            )
            await _refuse(scope, receive, send, 431, "headers_too_large", message)
            return
        declared = [value for name, value in headers if name == b"content-length"]
        if declared:
            if len(set(declared)) > 1 or not declared[0].strip().isdigit():
                message = "The Content-Length header is not one whole number of bytes."
                await _refuse(scope, receive, send, 400, "invalid_content_length", message)
                return
            if int(declared[0]) > self.max_body_bytes:
                too_large = BodyTooLarge(self.max_body_bytes)
                await _refuse(scope, receive, send, 413, too_large.code, too_large.detail)
                return
        await self._counting(scope, receive, send)

    async def _counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as exc:
            # The app's error handlers answer it; this is for a reader outside them.
            if started:
                raise
            await _refuse(scope, receive, send, 413, exc.code, exc.detail)


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
) -> None:
    response = JSONResponse(error_body(code, message), status_code=status)
    await response(scope, receive, send)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options that cap what one request may send before the app sees it. The h11
    parser refuses a request line plus headers over the limit; httptools has no such limit."""
    return {"http": "h11", "h11_max_incomplete_event_size": settings.max_header_bytes}
