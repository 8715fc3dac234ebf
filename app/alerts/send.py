"""Sending one delivery: an HTTP POST (Teams, Slack, webhook) or an e-mail over SMTP.

Every outcome is one of: sent; worth another try (429, 5xx, a timeout, a refused or dropped
connection; `retry_after` when the channel said how long to wait); or refused for good (any
other 4xx, a login the server rejects). Text a receiver sends back is masked (every secret
the redactor holds) and cut short before it is kept or logged; a URL is never part of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from app.alerts.messages import (
    Message,
    email_message,
    slack_payload,
    teams_payload,
    webhook_payload,
)
from app.alerts.models import ChannelKind
from app.logging import secrets_registry

TIMEOUT_S = 10.0
ANSWER_LIMIT = 300
SIGNATURE_HEADER = "X-Northstar-Signature"
TIMESTAMP_HEADER = "X-Northstar-Timestamp"
IDEMPOTENCY_HEADER = "X-Northstar-Idempotency-Key"
USER_AGENT = "Northstar-Alerts/1"


@dataclass(frozen=True)
class Outcome:
    sent: bool
    retry: bool = False
    retry_after: float | None = None  # seconds, when the channel said
    detail: str = ""  # what came back, for the delivery's history


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `timestamp + "." + body` (docs/alerts.md)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _answer_text(text: str) -> str:
    return secrets_registry.redact_and_shorten(" ".join(text.split()), ANSWER_LIMIT)


def _post(
    url: str, body: bytes, headers: dict[str, str], transport: httpx.BaseTransport | None
) -> Outcome:
    try:
        with httpx.Client(
            timeout=TIMEOUT_S, follow_redirects=False, transport=transport, trust_env=False
        ) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Outcome(sent=False, retry=True, detail="no answer within 10 seconds")
    except httpx.HTTPError as exc:
        # The exception's text can hold the URL: only its kind is kept.
        return Outcome(sent=False, retry=True, detail=f"could not connect ({type(exc).__name__})")
    status = response.status_code
    answer = _answer_text(response.text)
    if 200 <= status < 300:
        return Outcome(sent=True, detail=f"HTTP {status}")
    retry = status == 429 or status >= 500
    return Outcome(
        sent=False,
        retry=retry,
        retry_after=retry_after_seconds(response.headers.get("retry-after")) if retry else None,
        detail=f"HTTP {status}: {answer}" if answer else f"HTTP {status}",
    )


def send_http(
    kind: ChannelKind,
    secrets: dict[str, str],
    message: Message,
    idempotency_key: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> Outcome:
    payload: dict[str, Any]
    if kind is ChannelKind.TEAMS:
        payload = teams_payload(message)
    elif kind is ChannelKind.SLACK:
        payload = slack_payload(message)
    else:
        payload = webhook_payload(message, idempotency_key)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: idempotency_key,
    }
    if kind is ChannelKind.WEBHOOK:
        timestamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = sign(secrets["secret"], timestamp, body)
    return _post(secrets["url"], body, headers, transport)


def send_email(
    settings: dict[str, Any], secrets: dict[str, str], message: Message, idempotency_key: str
) -> Outcome:
    """Send over SMTP with STARTTLS, implicit TLS or (on a trusted network) neither."""
    mail = email_message(
        message,
        sender=settings["from_address"],
        recipients=list(settings["to"]),
        idempotency_key=idempotency_key,
    )
    host, port, security = settings["host"], int(settings["port"]), settings["security"]
    try:
        context = ssl.create_default_context(cafile=settings.get("tls_ca_file") or None)
        smtp: smtplib.SMTP
        if security == "tls":
            smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_S, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_S)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=context)
            if settings.get("username"):
                smtp.login(settings["username"], secrets.get("password", ""))
            refused = smtp.send_message(mail)
    except smtplib.SMTPNotSupportedError:
        detail = "the SMTP server does not offer a login here: check the channel's security"
        return Outcome(sent=False, detail=detail)
    except smtplib.SMTPAuthenticationError:
        return Outcome(sent=False, detail="the SMTP server refused the username or password")
    except smtplib.SMTPResponseException as exc:
        raw = exc.smtp_error
        answer = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        detail = f"SMTP {exc.smtp_code}: {_answer_text(answer)}"
        return Outcome(sent=False, retry=400 <= exc.smtp_code < 500, detail=detail)
    except smtplib.SMTPRecipientsRefused:
        return Outcome(sent=False, detail="the SMTP server refused every recipient")
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        return Outcome(sent=False, retry=True, detail=f"SMTP: {type(exc).__name__}")
    if refused:
        return Outcome(sent=True, detail=f"sent; refused for {', '.join(sorted(refused))}")
    return Outcome(sent=True, detail="accepted by the SMTP server")


def send(
    kind: ChannelKind,
    settings: dict[str, Any],
    secrets: dict[str, str],
    message: Message,
    idempotency_key: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> Outcome:
    if kind is ChannelKind.EMAIL:
        return send_email(settings, secrets, message, idempotency_key)
    return send_http(kind, secrets, message, idempotency_key, transport=transport)
