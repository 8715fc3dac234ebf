"""The SDK's check wording: a failed check comes out as the error class the connector
contract promises, explained by the first rule that fits, naming the host but never the
request's query string (where a username may travel)."""

from __future__ import annotations

import httpx
import pytest
from leak_guard import register_known_secrets
from live_server import free_port

from connectors.sdk import (
    AuthError,
    ConfigError,
    FatalError,
    RetryPolicy,
    SourceHttpLimits,
    TransientError,
    VendorClient,
)
from connectors.sdk.check_errors import (
    Advice,
    Answered,
    CheckWording,
    Unreachable,
    failed_check,
    generic_wording,
)
from connectors.sdk.network_failures import CheckFailure

USERNAME = "api-user-4kq9@msp-sdk.example"
register_known_secrets(USERNAME)

WORDING = CheckWording(
    vendor="Example PSA",
    unreachable=(Unreachable(Advice(("lookup_url",), "point it at the lookup"), path="lookup"),),
    answered=(
        Answered(
            (500,),
            Advice(("username",), "use the API user's name"),
            CheckFailure.UNKNOWN_ACCOUNT,
            path="lookup",
        ),
        Answered(
            (500,), Advice(("code",), "use the integration's code"), says=("code is invalid",)
        ),
        Answered((401,), Advice(("{secret_setting}",), "enter it again")),
    ),
)


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (CheckFailure.UNAUTHORIZED, AuthError),
        (CheckFailure.FORBIDDEN, AuthError),
        (CheckFailure.UNKNOWN_ACCOUNT, ConfigError),
        (CheckFailure.NOT_FOUND, ConfigError),
        (CheckFailure.DNS, TransientError),
        (CheckFailure.TIMEOUT, TransientError),
        (CheckFailure.UNAVAILABLE, TransientError),
        (CheckFailure.UNEXPECTED, FatalError),
    ],
)
def test_a_failed_check_is_the_error_the_contract_promises(
    failure: CheckFailure, error_class: type[Exception]
) -> None:
    failed = failed_check("What happened.", failure=failure, host="psa.example")

    assert isinstance(failed, error_class)
    assert failed.refused is (error_class in (AuthError, ConfigError))


async def explain_answer(status: int, body: dict[str, object], path: str) -> Exception:
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, json=body))
    client = VendorClient(
        base_url="https://psa.example/",
        limits=SourceHttpLimits(retry=RetryPolicy(max_attempts=1)),
        transport=transport,
    )
    try:
        with WORDING.explained(host="psa.example", names={"secret_setting": "password"}):
            await client.request("GET", path, params={"user": USERNAME})
    except Exception as exc:
        return exc
    finally:
        await client.aclose()
    raise AssertionError("the check passed")


@pytest.mark.anyio
async def test_the_first_rule_that_fits_explains_the_answer_without_the_query() -> None:
    failed = await explain_answer(500, {"errors": ["No zone for this user"]}, "/lookup")

    assert isinstance(failed, ConfigError)
    message = str(failed)
    assert message.startswith("Example PSA at psa.example does not know this account (HTTP 500).")
    assert "Check the setting `username`: use the API user's name." in message
    assert message.endswith("(Example PSA said: No zone for this user)")
    assert USERNAME not in message and "user=" not in message


@pytest.mark.anyio
async def test_a_rule_can_match_what_the_psa_says_and_name_a_setting_the_connector_fills_in() -> (
    None
):
    code = await explain_answer(500, {"errors": ["IntegrationCode is invalid."]}, "/data")
    refused = await explain_answer(401, {"message": "Refused"}, "/data")

    assert "`code`" in str(code) and isinstance(code, TransientError)  # a 500, by its status
    assert "Check the setting `password`: enter it again." in str(refused)


@pytest.mark.anyio
async def test_a_connector_without_wording_still_tells_the_failures_apart() -> None:
    port = free_port()
    client = VendorClient(
        base_url=f"http://127.0.0.1:{port}/",
        limits=SourceHttpLimits(retry=RetryPolicy(max_attempts=1)),
        vendor="Example PSA",
    )
    try:
        wording = generic_wording("Example PSA")
        with pytest.raises(TransientError) as raised, wording.explained(host="psa.example"):
            await client.request("GET", "/ping")
    finally:
        await client.aclose()

    assert raised.value.failure is CheckFailure.REFUSED  # type: ignore[attr-defined]
    assert str(raised.value).startswith(
        f"127.0.0.1 refused the connection: nothing answers there on port {port}."
    )
