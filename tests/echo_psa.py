"""A hostile fake PSA on loopback: every answer is an error (or junk) that echoes the request.

A real HTTP server (`http.server`, one thread per request) so the connectors' own HTTP stack
runs end to end. The first path segment of a request says how to answer, and a source is
pointed at a mode through its base URL, zone URL or zone lookup URL:

- `401`, `403`: JSON `{"message": ...}` / `{"errors": [...]}` with every header and query
  parameter, as sent and decoded, in the text;
- `404`: the same as plain text;
- `500`: JSON without a message key (the whole request, JSON-escaped), `Retry-After: 0`;
- `502`: an HTML page with the request in it, `Retry-After: 0`;
- `junk`: 200 with a body that is not JSON, the request in it;
- `cut`: 401 naming each header and parameter with only the middle half of its value (a
  proxy that echoes values cut short);
- `zone-<mode>`: a zone lookup (`.../zoneInformation`) answers the zone `/<mode>/...` of
  this server; anything else is answered as `<mode>`.

`requests` keeps what was received, so a test can show the credentials did go out.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MODES = ("401", "403", "404", "500", "502", "junk", "cut")


@dataclass
class ReceivedRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: str


@dataclass
class EchoPsa:
    base_url: str
    requests: list[ReceivedRequest] = field(default_factory=list)

    def url(self, mode: str, path: str = "") -> str:
        return f"{self.base_url}/{mode}/{path.lstrip('/')}"

    def sent_header_values(self) -> set[str]:
        return {value for request in self.requests for _name, value in request.headers}


def _credentials_first(request: ReceivedRequest) -> list[tuple[str, str]]:
    # Clients add their own headers (credentials among them) after the standard ones;
    # echoing them first puts them inside the part of an error text a client keeps.
    return request.headers[::-1]


def _echo_text(request: ReceivedRequest, params: list[tuple[str, str]]) -> str:
    headers = "; ".join(f"{name}: {value}" for name, value in _credentials_first(request))
    decoded = "; ".join(f"{name}={value}" for name, value in params)
    return (
        f"headers: {headers} | params: {decoded} | {request.method} {request.target} "
        f"| body: {request.body}"
    )


def _middle_half(value: str) -> str:
    return value[len(value) // 4 : len(value) * 3 // 4]


def _answer(
    mode: str, request: ReceivedRequest, params: list[tuple[str, str]]
) -> tuple[int, str, str, dict[str, str]]:
    """(status, content type, body, extra headers) for `mode`."""
    echo = _echo_text(request, params)
    retry_now = {"Retry-After": "0"}
    if mode == "401":
        return 401, "application/json", json.dumps({"message": f"Refused: {echo}"}), {}
    if mode == "403":
        return 403, "application/json", json.dumps({"errors": [f"Forbidden: {echo}"]}), {}
    if mode == "404":
        return 404, "text/plain", f"No such thing: {echo}", {}
    if mode == "500":
        whole = {
            "headers": dict(_credentials_first(request)),
            "params": dict(params),
            "method": request.method,
            "target": request.target,
            "body": request.body,
        }
        return 500, "application/json", json.dumps({"request": whole}), retry_now
    if mode == "502":
        page = f"<html><body><h1>Bad gateway</h1><pre>{html.escape(echo)}</pre></body></html>"
        return 502, "text/html", page, retry_now
    if mode == "junk":
        return 200, "text/plain", f"<<this is not JSON>> {echo}", {}
    if mode == "cut":
        pieces = [f"{name}: {_middle_half(value)}" for name, value in _credentials_first(request)]
        pieces += [f"{name}={_middle_half(value)}" for name, value in params]
        return 401, "application/json", json.dumps({"message": "Cut: " + "; ".join(pieces)}), {}
    return 400, "text/plain", f"Unknown echo mode {mode!r}: {echo}", {}


def _handler(server_state: EchoPsa) -> type[BaseHTTPRequestHandler]:
    class EchoHandler(BaseHTTPRequestHandler):
        # One request per connection: a client that drops a kept-alive connection (every
        # connector closed after its sync) cannot race the next request on it.
        protocol_version = "HTTP/1.0"
        # Headers and body go out as separate writes: without this, each answer waits for
        # the client's delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the echo server's own lines are not Northstar's logs

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            request = ReceivedRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
            )
            server_state.requests.append(request)
            parts = urlsplit(self.path)
            params = parse_qsl(parts.query, keep_blank_values=True)
            mode, _, rest = parts.path.lstrip("/").partition("/")
            if mode.startswith("zone-"):
                mode = mode.removeprefix("zone-")
                if rest.lower().endswith("zoneinformation"):
                    zone = {"url": server_state.url(mode, "ATServicesRest/")}
                    self._send(200, "application/json", json.dumps(zone), {})
                    return
            self._send(*_answer(mode, request, params))

        def _send(self, status: int, content_type: str, body: str, extra: dict[str, str]) -> None:
            payload = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return EchoHandler


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    # Connectors open several connections at once; the default backlog of 5 drops some.
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early is no news for these tests


@contextmanager
def serve_echo_psa() -> Iterator[EchoPsa]:
    """An `EchoPsa` listening on a free port of 127.0.0.1 until the block ends."""
    server = _EchoServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = EchoPsa(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
