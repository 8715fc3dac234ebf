"""Issue 15, defect 4 (the key part): a request with a body to a keyed route is refused for
its key before a byte of the body is read. Reproduced with a JSON array announced (100 MB,
and 500 kB, within the body limit) and only its first kilobytes sent: the answer comes
back while the rest was never sent. Before, the server waited for the whole body."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from hardened_app import hardened_app
from leak_guard import CheckedClient
from live_server import serve_on_loopback

from app.api.deps import COOKIE_NAME

HUGE = 100_000_000  # bytes the request says it carries
WITHIN_LIMIT = 500_000  # under NORTHSTAR_MAX_BODY_BYTES: only the key can refuse it early
ANNOUNCED = HUGE
SENT_FIRST = b"[" + b"1," * 4096  # what is sent of it before waiting for an answer


@pytest.fixture
def served(api: Any) -> Iterator[tuple[str, int]]:
    with serve_on_loopback(hardened_app(api.setup.context)) as base:
        parts = urlsplit(base)
        assert parts.hostname and parts.port
        yield parts.hostname, parts.port


def post_huge(
    where: tuple[str, int], path: str, headers: dict[str, str], announced: int = HUGE
) -> tuple[int, Any]:
    """Announce a large body, send its first 8 KB, and read the answer (status, JSON)."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {where[0]}:{where[1]}",
        "Content-Type: application/json",
        f"Content-Length: {announced}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection(where, timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + SENT_FIRST)
        answer = b""
        while b"\r\n\r\n" not in answer or not _complete(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else None


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


@pytest.mark.parametrize("announced", [HUGE, WITHIN_LIMIT])
def test_a_large_body_without_a_key_gets_401_before_it_is_read(
    served: tuple[str, int], announced: int
) -> None:
    status, body = post_huge(served, "/api/v1/objectives", {}, announced)

    assert status == 401
    assert body["code"] == "api_key_missing"


@pytest.mark.parametrize(
    ("credentials", "status", "code"),
    [
        ({"X-API-Key": "ns_wrong"}, 401, "api_key_invalid"),
        ({"Authorization": "Bearer ns_wrong"}, 401, "api_key_invalid"),
        ("read", 403, "admin_key_required"),
        ("admin-cookie", 403, "api_key_header_required"),
    ],
)
def test_a_huge_body_with_a_key_that_may_not_write_is_refused_first(
    api: Any, served: tuple[str, int], credentials: Any, status: int, code: str
) -> None:
    if credentials == "read":
        credentials = api.read
    elif credentials == "admin-cookie":
        key = api.admin["Authorization"].removeprefix("Bearer ")
        credentials = {"Cookie": f"{COOKIE_NAME}={key}"}

    answer = post_huge(served, "/api/v1/goals", credentials, WITHIN_LIMIT)

    assert answer[0] == status
    assert answer[1]["code"] == code


def test_with_an_admin_key_the_body_is_read_as_usual(api: Any) -> None:
    with CheckedClient(hardened_app(api.setup.context)) as client:
        created = client.post("/api/v1/objectives", headers=api.admin, json={"title": "Grow"})
        no_key = client.post("/api/v1/objectives", json={"title": "Grow"})

    assert created.status_code == 201
    assert no_key.status_code == 401


@pytest.mark.anyio
async def test_the_refusal_never_asks_the_server_for_the_body(api: Any) -> None:
    """In-process: the app answers 401 without calling `receive` once."""
    app = hardened_app(api.setup.context)
    asked_for_body = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked_for_body
        asked_for_body += 1
        return {"type": "http.request", "body": SENT_FIRST, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/objectives",
        "raw_path": b"/api/v1/objectives",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(ANNOUNCED).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 401
    assert asked_for_body == 0
