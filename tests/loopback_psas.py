"""Real loopback servers for source checks: an address nothing listens on, one that accepts
connections and never answers, TLS servers with a certificate Northstar must not trust, and
small ConnectWise and Autotask front doors that answer the way those PSAs do (reference §1-2
of each: status codes and error bodies as the vendors send them)."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from leak_guard import register_known_secrets
from live_server import free_port

CW_COMPANY, CW_PUBLIC = "northwind", "door-public-key"
CW_PRIVATE, CW_CLIENT_ID = "door-private-key-5d1e", "7c0f4d2e-door-4a1b-9e3f-cl1ent1d0001"
AT_USER, AT_SECRET = "svc-dash7q@door-msp.example", "door-at-secret-93kd"
AT_CODE = "D00R7QX4MZ9KC2LW8PB5"
register_known_secrets(CW_PRIVATE, CW_CLIENT_ID, AT_USER, AT_SECRET, AT_CODE)

Answer = tuple[int, Any, str]  # status, body (JSON, or text when content type says so), type
JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"


def connectwise_config(base_url: str | None, **changes: Any) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "company_id": CW_COMPANY,
        "public_key": CW_PUBLIC,
        "private_key": CW_PRIVATE,
        "client_id": CW_CLIENT_ID,
        **changes,
    }


def autotask_config(**changes: Any) -> dict[str, Any]:
    return {"api_username": AT_USER, "secret": AT_SECRET, "integration_code": AT_CODE, **changes}


class ConnectWiseDoor:
    """The parts of ConnectWise PSA a check touches: `/login/companyinfo/{company}` (no
    auth; `null` for a company it does not know) and `/v2025_1/apis/3.0/system/info`
    (Basic `company+public:private` and a clientId, else 401; 403 for a security role
    without access; 404 under a codebase it does not have). `api_codebase`: where its API
    really is, when not where its login page says."""

    codebase = "v2025_1"

    def __init__(self, *, role_may_read_system: bool = True, api_codebase: str | None = None):
        self.role_may_read_system = role_may_read_system
        self.api_codebase = api_codebase or self.codebase
        pair = f"{CW_COMPANY}+{CW_PUBLIC}:{CW_PRIVATE}".encode()
        self._authorization = "Basic " + base64.b64encode(pair).decode()

    def answer(self, path: str, _query: dict[str, str], headers: dict[str, str]) -> Answer:
        if path.lower().startswith("/login/companyinfo/"):
            if path.rsplit("/", 1)[1].lower() != CW_COMPANY:
                return 200, None, JSON
            info = {
                "CompanyName": "Northwind IT",
                "Codebase": f"{self.codebase}/",
                "VersionCode": "v2025.1",
                "VersionNumber": "v4.6.0",
                "CompanyID": CW_COMPANY,
                "IsCloud": True,
            }
            return 200, info, JSON
        if not path.startswith(f"/{self.api_codebase}/apis/3.0/"):
            return 404, _cw_error("NotFound", "The resource cannot be found."), JSON
        if headers.get("authorization") != self._authorization:
            return 401, _cw_error("ConnectWiseApi", "UserNotAuthenticated"), JSON
        if headers.get("clientid") != CW_CLIENT_ID:
            return 401, _cw_error("Unauthorized", "A valid clientId header is required."), JSON
        if not self.role_may_read_system:
            message = "You do not have permission to access this resource."
            return 403, _cw_error("Forbidden", message), JSON
        return 200, {"version": "v2025.1.100000", "isCloud": True, "cloudRegion": "NA"}, JSON


def _cw_error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": None}


class AutotaskDoor:
    """The parts of Autotask a check touches: the zone lookup (`?user=`; HTTP 500 "Zone
    information could not be determined" for a username it does not know) and the zone's
    `ThresholdInformation` (401 without a body for a wrong secret, 500 "IntegrationCode is
    invalid." for a wrong integration code, 500 "...adequate permissions..." for a security
    level without API access)."""

    def __init__(self, *, api_user_may_read: bool = True) -> None:
        self.api_user_may_read = api_user_may_read
        self.zone_url = ""  # set once the door's address is known

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        lowered = path.lower()
        if lowered.endswith("/v1.0/zoneinformation"):
            if query.get("user", "").lower() != AT_USER.lower():
                return 500, {"errors": ["Zone information could not be determined"]}, JSON
            zone = {
                "zoneName": "Door",
                "url": self.zone_url,
                "webUrl": "https://ww5.door/",
                "ci": 1,
            }
            return 200, zone, JSON
        if not lowered.startswith("/atservicesrest/v1.0/"):
            return 404, {"Message": "No HTTP resource was found."}, JSON
        if headers.get("apiintegrationcode") != AT_CODE:
            return 500, {"errors": ["IntegrationCode is invalid."]}, JSON
        if headers.get("username") != AT_USER or headers.get("secret") != AT_SECRET:
            return 401, "", JSON
        if not self.api_user_may_read:
            refused = "The logged in Resource does not have the adequate permissions to query."
            return 500, {"errors": [refused]}, JSON
        usage = {"externalRequestThreshold": 10000, "currentTimeframeRequestCount": 12}
        return 200, {**usage, "requestThresholdTimeframe": 60}, JSON


class PlainWebServer:
    """A web server that is not a PSA: every page is an HTML 404."""

    def answer(self, _path: str, _query: dict[str, str], _headers: dict[str, str]) -> Answer:
        return 404, "<html><body><h1>Not Found</h1></body></html>", HTML


@dataclass
class _Asgi:
    door: ConnectWiseDoor | AutotaskDoor | PlainWebServer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        status, body, content_type = self.door.answer(scope["path"], query, headers)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": data})


@contextmanager
def serve(
    door: ConnectWiseDoor | AutotaskDoor | PlainWebServer,
    *,
    certificate: tuple[Path, Path] | None = None,
    host_name: str = "127.0.0.1",
) -> Iterator[str]:
    """Serve `door` on a loopback port (over TLS with `certificate`: cert and key files);
    yields its base URL, naming it `host_name`."""
    port = free_port()
    tls = (
        {"ssl_certfile": str(certificate[0]), "ssl_keyfile": str(certificate[1])}
        if certificate
        else {}
    )
    config = uvicorn.Config(_Asgi(door), host="127.0.0.1", port=port, log_level="warning", **tls)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the loopback PSA did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"{'https' if certificate else 'http'}://{host_name}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def nothing_listening() -> Iterator[str]:
    """The base URL of a loopback port no one listens on: connections are refused."""
    yield f"http://127.0.0.1:{free_port()}"


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback port that takes connections (the kernel completes them from the listen
    backlog) and never sends a byte."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# ---- certificates ------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def issue_certificate(
    directory: Path,
    stem: str,
    *,
    names: list[str],
    authority: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    is_authority: bool = False,
) -> tuple[Issued, x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate for `names` (DNS names or IP addresses), signed by `authority` or by
    itself, written as PEM files in `directory`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = _name(names[0] if names else stem)
    issuer_cert, issuer_key = authority if authority else (None, key)
    alternatives: list[x509.GeneralName] = []
    for name in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=is_authority, path_length=None), critical=True)
    )
    if alternatives:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    if is_authority:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Issued(cert_path, key_path), cert, key
