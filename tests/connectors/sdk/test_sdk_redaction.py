"""Redaction: a registered secret is masked in every spelling, cut or whole, and every
credential a VendorClient sends is registered before the PSA can echo it."""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import quote, quote_plus

import httpx
import pytest

from connectors.sdk import AuthError, ConnectorError, SourceHttpLimits, VendorClient
from connectors.sdk.http import vendor_message
from connectors.sdk.redaction import (
    FRAGMENT,
    MASK,
    SecretRegistry,
    credentials_sent,
    secret_registry,
)

SECRET = 'k3y"with\\odd/chars+=&@x'


@pytest.fixture
def registry() -> SecretRegistry:
    fresh = SecretRegistry()
    fresh.add(SECRET)
    return fresh


@pytest.mark.parametrize(
    "spelling",
    [
        SECRET,
        quote(SECRET, safe=""),
        re.sub("%[0-9A-F]{2}", lambda escape: escape.group(0).lower(), quote(SECRET, safe="")),
        quote_plus(SECRET, safe=""),
        quote(quote(SECRET, safe=""), safe=""),
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET)[1:-1].replace("/", "\\/"),
        html.escape(SECRET),
        repr(SECRET)[1:-1],
        SECRET.encode().hex(),
        SECRET.encode().hex().upper(),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ],
)
def test_every_spelling_of_a_secret_is_masked(registry: SecretRegistry, spelling: str) -> None:
    assert registry.scrub(f"PSA said: <{spelling}> again") == f"PSA said: <{MASK}> again"


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_a_secret_inside_a_longer_base64_value_is_masked(
    registry: SecretRegistry, offset: int
) -> None:
    head = "company+public:"[: 13 + offset]
    encoded = base64.b64encode(f"{head}{SECRET}".encode()).decode()

    scrubbed = registry.scrub(f"Authorization: Basic {encoded}")

    kept = scrubbed.removeprefix("Authorization: Basic ").split(MASK)[0]
    assert MASK in scrubbed and encoded.startswith(kept)
    # What is left shows at most the bytes before the secret (and bits of its first byte).
    assert len(kept) <= len(head) * 4 // 3 + 1


def test_a_long_piece_of_a_secret_is_masked_and_a_short_one_is_not(
    registry: SecretRegistry,
) -> None:
    long_piece, short_piece = SECRET[3 : 3 + FRAGMENT], SECRET[3:9]

    assert registry.scrub(f"echo: {long_piece}!") == f"echo: {MASK}!"
    assert registry.scrub(f"echo: {short_piece}!") == f"echo: {short_piece}!"


def test_text_without_a_secret_is_left_alone(registry: SecretRegistry) -> None:
    text = "ConnectWise answered 401 on GET /system/info: the keys were refused"

    assert registry.scrub(text) == text


def test_a_secret_made_of_words_masks_only_itself_not_the_words() -> None:
    registry = SecretRegistry()
    registry.add("SANDBOXINTEGRATION")

    echoed = registry.scrub("ApiIntegrationCode: SANDBOXINTEGRATION; sandbox integration")

    assert echoed == f"ApiIntegrationCode: {MASK}; sandbox integration"


def test_a_secret_cut_by_the_limit_is_masked_whole_before_the_cut(
    registry: SecretRegistry,
) -> None:
    text = "x" * 195 + SECRET + " and more"

    shortened = registry.redact_and_shorten(text, 200)

    assert shortened == "x" * 195 + MASK[:5]
    assert SECRET[:5] not in shortened


def test_the_credentials_of_a_request_are_its_credential_headers_and_parameters() -> None:
    basic = base64.b64encode(b"acme+pub:private-part").decode()

    found = credentials_sent(
        [
            ("Authorization", f"Basic {basic}"),
            ("clientId", "client-guid-1"),
            ("ApiIntegrationCode", "CODE-1"),
            ("UserName", "api@msp.example"),
            ("User-Agent", "python-httpx"),
            ("Accept", "application/json"),
        ],
        [("user", "api@msp.example"), ("pageSize", "1000"), ("tenant", "acme-7")],
        secret_params=["tenant"],
    )

    assert set(found) == {
        f"Basic {basic}",
        basic,
        "acme+pub:private-part",
        "acme+pub",
        "private-part",
        "client-guid-1",
        "CODE-1",
        "api@msp.example",
        "acme-7",
    }


def test_an_error_message_is_scrubbed_when_the_error_is_made() -> None:
    secret_registry.add("error-secret-77c1d0")

    error = ConnectorError("the PSA echoed error-secret-77c1d0 back")

    assert error.message == str(error) == f"the PSA echoed {MASK} back"


def test_vendor_text_is_scrubbed_before_it_is_shortened() -> None:
    secret_registry.add("vendor-secret-19ae44")
    body = "y" * 295 + "vendor-secret-19ae44"

    message = vendor_message(httpx.Response(500, text=body), limit=300)

    assert message == "y" * 295 + MASK[:5]


@pytest.mark.anyio
async def test_every_credential_a_client_sends_is_masked_in_what_the_psa_echoes() -> None:
    sent = {
        "basic": ("acme+public-key-9", "client-private-key-3f2a"),
        "header": "header-token-8d1e55",
        "query": "user.name+q@msp.example",
    }

    def echo(request: httpx.Request) -> httpx.Response:
        headers = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
        return httpx.Response(401, json={"message": f"refused {headers} {request.url}"})

    client = VendorClient(
        base_url="https://psa.test/api",
        limits=SourceHttpLimits(),
        headers={"X-Api-Key": str(sent["header"])},
        auth=httpx.BasicAuth(*sent["basic"]),
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(AuthError) as refused:
        await client.request_json("GET", "/ping", params={"user": sent["query"]})
    await client.aclose()

    message = refused.value.message
    assert message.startswith("PSA answered 401 on GET /ping: refused")
    basic = base64.b64encode(":".join(sent["basic"]).encode()).decode()
    for leaked in (*sent["basic"], sent["header"], sent["query"], quote(str(sent["query"])), basic):
        assert str(leaked) not in message
