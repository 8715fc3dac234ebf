"""Real receivers on loopback: an HTTP server that records every POST and answers from a
script (e.g. 429 with Retry-After, then 500, then 200), and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from live_server import free_port

from app.alerts.digests import previous_quarter
from app.alerts.models import AlertChannel


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Recorder:
    """Answers each POST with the next scripted (status, headers), then 200."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[Post]:
        return [p for p in self.posts if p.answered == 200]


@contextmanager
def http_receiver(script: list[tuple[int, dict[str, str]]] | None = None) -> Iterator[Recorder]:
    recorder = Recorder(script=list(script or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with recorder.lock:
                status, headers = recorder.script.pop(0) if recorder.script else (200, {})
                recorder.posts.append(Post(self.path, dict(self.headers), body, status))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            answer = b"1" if status == 200 else b'{"error": "try later"}'
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.box.messages.append(parsed)
        return "250 Message accepted for delivery"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written to `directory`: (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "northstar-test-smtp")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def smtp_receiver(
    username: str | None = None,
    password: str | None = None,
    *,
    security: str = "none",
    certificate: tuple[Path, Path] | None = None,
) -> Iterator[Mailbox]:
    """aiosmtpd on loopback; with a username it requires a login with that password
    (allowed without TLS only when `security` is "none", for the test only). `security`
    "starttls" requires STARTTLS before anything else, "tls" speaks TLS from the first byte;
    both with `certificate` (see `self_signed_certificate`)."""
    box = Mailbox(host="127.0.0.1", port=free_port())
    kwargs: dict[str, Any] = {}
    if security != "none":
        assert certificate is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if username is not None:

        def authenticate(
            _server: Any, _session: Any, _envelope: Any, _mechanism: str, auth_data: Any
        ) -> Any:
            from aiosmtpd.smtp import AuthResult

            given = (auth_data.login.decode(), auth_data.password.decode())
            box.logins.append(given)
            return AuthResult(success=given == (username, password))

        # aiosmtpd counts only STARTTLS as TLS for AUTH, not TLS from the first byte.
        kwargs.update(authenticator=authenticate, auth_require_tls=security == "starttls")
    controller = Controller(_Handler(box), hostname=box.host, port=box.port, **kwargs)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def made_on(api: Any, channel_id: int, day: date) -> None:
    """Date the channel as made on `day`, as if it had been: nothing before it is sent."""
    with api.setup.context.db.session() as session:
        channel = session.get(AlertChannel, channel_id)
        assert channel is not None
        channel.review_last_quarter = previous_quarter(day)
        if channel.digest_weekday is not None:
            channel.digest_last_sent_on = day - timedelta(days=1)
