"""What a client may send (issue 15, defect 4) and how a request that cannot be read is
answered (defect 15): bodies over the limit are refused with 413 before they are read,
whether declared or streamed; oversized headers are refused; every failure has the house
shape, its own code, and a message that says what to fix."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from live_server import free_port

from app.api.limits import server_options

MIB = 1024 * 1024
OBSERVATIONS = "/api/v1/kpis/team_confidence/observations"


@pytest.fixture
def pulse(api: Any) -> Any:
    response = api.client.post(
        "/api/v1/kpis",
        headers=api.admin,
        json={"key": "team_confidence", "name": "Team confidence", "min": 1, "max": 10},
    )
    assert response.status_code == 201, response.text
    return api


def raw(api: Any, method: str, url: str, content: bytes, **headers: str) -> httpx.Response:
    response: httpx.Response = api.client.request(
        method,
        url,
        content=content,
        headers={**api.admin, "Content-Type": "application/json", **headers},
    )
    return response


# ---- 4: body and header limits -------------------------------------------------------------


def test_a_body_declared_over_the_limit_is_refused_with_413_unread(pulse: Any) -> None:
    response = raw(pulse, "POST", OBSERVATIONS, b"[" + b" " * (MIB + 10) + b"]")

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert "1 MiB" in response.json()["message"]
    assert "NORTHSTAR_MAX_BODY_BYTES" in response.json()["message"]


def test_a_body_just_under_the_limit_is_read(pulse: Any) -> None:
    batch = b'[{"date": "2025-11-28", "value": 7}' + b" " * (MIB - 100) + b"]"

    response = raw(pulse, "POST", OBSERVATIONS, batch)

    assert response.status_code == 200, response.text
    assert response.json() == {"created": 1, "updated": 0}


@pytest.mark.anyio
async def test_a_streamed_body_is_refused_once_past_the_limit_never_read_whole(
    pulse: Any,
) -> None:
    sent = 0

    async def hundred_mebibytes() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"["
        for _ in range(100):
            sent += 1
            yield b"1," * (MIB // 2)

    transport = httpx.ASGITransport(app=pulse.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            OBSERVATIONS,
            content=hundred_mebibytes(),
            headers={**pulse.admin, "Content-Type": "application/json"},
        )

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert sent <= 2  # 1 MiB read at most: the other 99 MiB were never asked for


def test_headers_over_the_limit_are_refused_with_431(api: Any) -> None:
    response = api.client.get("/api/v1/objectives", headers={**api.read, "X-Padding": "x" * 20_000})

    assert response.status_code == 431
    assert response.json()["code"] == "headers_too_large"
    assert "NORTHSTAR_MAX_HEADER_BYTES" in response.json()["message"]


def test_a_content_length_that_is_not_a_number_is_a_400(api: Any) -> None:
    response = raw(api, "POST", "/api/v1/objectives", b"{}", **{"Content-Length": "ten"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_content_length"


@contextmanager
def served_with_server_options(app: Any, settings: Any) -> Iterator[int]:
    """The app under uvicorn on loopback, with the options `northstar serve` uses."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **server_options(settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def send_raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def test_the_server_refuses_a_huge_header_before_the_app_sees_it(api: Any) -> None:
    settings = api.setup.context.settings
    with served_with_server_options(api.client.app, settings) as port:
        answer = send_raw(
            port,
            b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nX-Big: "
            + b"a" * (settings.max_header_bytes * 4)
            + b"\r\nConnection: close\r\n\r\n",
        )

    # Sent in one piece the headers are parsed, and the app refuses them (431); trickled
    # in, the parser stops buffering at the limit (400). Either way never a 200.
    assert answer.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400"))


def test_the_server_answers_a_declared_100_mib_body_at_once_without_reading_it(
    pulse: Any,
) -> None:
    settings = pulse.setup.context.settings
    key = pulse.admin["Authorization"]
    with served_with_server_options(pulse.client.app, settings) as port:
        # Only the headers are sent: the answer comes without waiting for the body.
        answer = send_raw(
            port,
            f"POST {OBSERVATIONS} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {100 * MIB}\r\n"
            "Connection: close\r\n\r\n".encode(),
        )

    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"code":"body_too_large"' in answer


# ---- 15: one error shape, one code per cause ------------------------------------------------


def test_malformed_json_says_where_line_and_column(api: Any) -> None:
    body = b'{\n  "title": "Grow",\n  "weight": 2\n  "owner": "Sam"\n}'

    response = raw(api, "POST", "/api/v1/objectives", body)

    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "malformed_json"
    assert "line 4, column 3" in error["message"]
    assert "Expecting ',' delimiter" in error["message"]
    assert error["details"] == [{"line": 4, "column": 3}]


def test_a_body_that_is_not_utf8_is_named_as_such(api: Any) -> None:
    response = raw(api, "POST", "/api/v1/objectives", b'{"title": "Gr\xffow"}')

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_utf8"
    assert "0xff" in response.json()["message"]


def test_a_number_with_thousands_of_digits_is_named_as_such(api: Any) -> None:
    response = raw(
        api, "POST", "/api/v1/objectives", b'{"title": "x", "weight": 1' + b"0" * 5000 + b"}"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "number_too_long"


def test_json_nested_past_reading_is_named_as_such(api: Any) -> None:
    response = raw(api, "POST", "/api/v1/objectives", b"[" * 100_000 + b"]" * 100_000)

    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"


def test_an_infinite_number_is_refused_in_words(api: Any) -> None:
    response = raw(api, "POST", "/api/v1/objectives", b'{"title": "x", "weight": 1e400}')

    assert response.status_code == 422
    assert response.json()["code"] == "number_out_of_range"
    assert "at most 1,000,000" in response.json()["message"]


def test_a_body_sent_without_the_json_content_type_says_so(api: Any) -> None:
    response = raw(
        api, "POST", "/api/v1/objectives", b'{"title": "Grow"}', **{"Content-Type": "text/plain"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "body_not_json"
    assert "Content-Type: application/json" in response.json()["message"]


def test_a_missing_body_says_so(api: Any) -> None:
    response = api.client.post("/api/v1/objectives", headers=api.admin)

    assert (response.status_code, response.json()["code"]) == (422, "body_missing")


def test_a_bad_observation_date_names_the_field_not_an_internal_type(pulse: Any) -> None:
    response = pulse.client.post(
        OBSERVATIONS,
        headers=pulse.admin,
        json=[{"date": "2025-11-21", "value": 7}, {"date": "21/11/2025", "value": 7}],
    )

    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "invalid_date"
    assert [d["field"] for d in error["details"]] == ["body.1.date"]
    assert "YYYY-MM-DD" in error["message"]
    assert "ObservationIn" not in response.text and "list[" not in response.text


def test_a_single_bad_observation_is_named_without_an_index(pulse: Any) -> None:
    response = pulse.client.post(
        OBSERVATIONS, headers=pulse.admin, json={"date": "2025-02-30", "value": 7}
    )

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == ["body.date"]
    assert "not a day of the calendar" in response.json()["message"]


def test_a_405_says_every_method_the_address_takes(api: Any) -> None:
    response = api.client.put("/api/v1/goals/1", headers=api.admin, json={})

    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    assert response.json()["code"] == "method_not_allowed"
    assert "DELETE, GET, HEAD, PATCH" in response.json()["message"]


def test_a_key_sent_without_bearer_gets_a_hint(api: Any) -> None:
    key = api.admin["Authorization"].removeprefix("Bearer ")

    response = api.client.get("/api/v1/objectives", headers={"Authorization": key})

    assert response.status_code == 401
    assert response.json()["code"] == "authorization_not_bearer"
    assert "`Bearer <key>`" in response.json()["message"]


def test_no_key_at_all_is_still_api_key_missing(api: Any) -> None:
    response = api.client.get("/api/v1/objectives")

    assert (response.status_code, response.json()["code"]) == (401, "api_key_missing")


def test_a_null_for_a_field_that_must_have_a_value_says_so(api: Any) -> None:
    created = api.client.post("/api/v1/objectives", headers=api.admin, json={"title": "Grow"})

    response = api.client.patch(
        f"/api/v1/objectives/{created.json()['id']}", headers=api.admin, json={"title": None}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "null_not_allowed"
    assert "leave it out to keep it" in response.json()["message"]
