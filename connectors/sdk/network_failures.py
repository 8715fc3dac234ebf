"""The kinds of failure a source check tells apart, and how to recognise the network ones
from what httpx raised (the socket, TLS and timeout errors beneath it)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from enum import StrEnum

import httpx


class CheckFailure(StrEnum):
    DNS = "dns"  # the host name does not resolve
    REFUSED = "refused"  # nothing listens at the host and port
    TLS = "tls"  # the secure connection failed: an untrusted or wrong certificate
    TIMEOUT = "timeout"  # no connection or no answer in time
    UNREACHABLE = "unreachable"  # any other network failure
    UNAUTHORIZED = "unauthorized"  # the credentials were refused
    FORBIDDEN = "forbidden"  # the credentials were accepted, access was not
    UNKNOWN_ACCOUNT = "unknown_account"  # the PSA knows no such company or user
    NOT_FOUND = "not_found"  # no PSA API at this address
    UNAVAILABLE = "unavailable"  # the PSA is busy or failing (429, 5xx)
    UNEXPECTED = "unexpected"  # an answer that fits none of the above


# OpenSSL's verification results (X509_V_ERR_*) in words.
_CERTIFICATE_PROBLEMS = {
    9: "the certificate is not valid yet",
    10: "the certificate has expired",
    18: "the certificate is self-signed",
    19: "the certificate chain ends in a self-signed certificate",
    20: "the certificate was not issued by an authority Northstar trusts",
    21: "the certificate was not issued by an authority Northstar trusts",
    62: "the certificate was issued for another host name",
    64: "the certificate was issued for another IP address",
}


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything beneath it: causes, contexts and the members of groups."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(reversed(current.exceptions))
        for beneath in (current.__context__, current.__cause__):
            if beneath is not None:
                stack.append(beneath)


def _tls_detail(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        known = _CERTIFICATE_PROBLEMS.get(error.verify_code)
        return known or f"its certificate failed verification ({error.verify_message})"
    reason = (error.reason or "").upper()
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
        return "it does not speak HTTPS on this port"
    return f"the TLS handshake failed ({error.reason or type(error).__name__})"


def _dns_detail(error: socket.gaierror) -> str:
    if error.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_NODATA", None)):
        return "no DNS server answered for it"
    return "no such host name is known"


def network_failure(exc: httpx.TransportError) -> tuple[CheckFailure, str]:
    """The kind of a request that got no answer, and a few words of detail."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return CheckFailure.TIMEOUT, "no connection within the time allowed"
    if isinstance(exc, httpx.TimeoutException):
        return CheckFailure.TIMEOUT, "it accepted the connection but sent no answer"
    beneath = list(causes(exc))
    for error in beneath:
        if isinstance(error, socket.gaierror):
            return CheckFailure.DNS, _dns_detail(error)
    for error in beneath:
        if isinstance(error, ssl.SSLError):
            return CheckFailure.TLS, _tls_detail(error)
    if any(isinstance(error, ConnectionRefusedError) for error in beneath):
        return CheckFailure.REFUSED, ""
    if any(isinstance(error, TimeoutError) for error in beneath):
        return CheckFailure.TIMEOUT, "no answer within the time allowed"
    return CheckFailure.UNREACHABLE, type(exc).__name__
