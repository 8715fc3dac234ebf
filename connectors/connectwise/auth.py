"""ConnectWise authentication: Basic `company+public:private` plus the integration's clientId.

Both go on every API call, as an `httpx.Auth` so a single request (the unauthenticated
companyinfo lookup) can opt out with `auth=None`, and so the values never sit in the
client's default headers where a debug dump could show them.
"""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx
from pydantic import SecretStr


class ConnectWiseAuth(httpx.Auth):
    """Adds `Authorization: Basic base64(company+public:private)` and `clientId`."""

    def __init__(
        self, *, company_id: str, public_key: str, private_key: SecretStr, client_id: SecretStr
    ) -> None:
        token = f"{company_id}+{public_key}:{private_key.get_secret_value()}"
        self._authorization = "Basic " + base64.b64encode(token.encode()).decode("ascii")
        self._client_id = client_id.get_secret_value()

    def __repr__(self) -> str:
        return "ConnectWiseAuth(<redacted>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._authorization
        request.headers["clientId"] = self._client_id
        yield request


def accept_header(api_version: str) -> str:
    """The content-negotiation header that pins the API model version (reference §1)."""
    return f"application/vnd.connectwise.com+json; version={api_version}, application/json"
