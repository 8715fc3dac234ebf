"""Issue 16: adding a source checks it at once, and a failed check says in the owner's words
what happened, at which host, and which setting to fix, for every kind of failure, against
real loopback servers that refuse, stay silent, present a certificate Northstar must not
trust, or answer the way ConnectWise and Autotask do."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from leak_guard import CheckedClient
from loopback_psas import (
    AT_CODE,
    AT_SECRET,
    AT_USER,
    CW_CLIENT_ID,
    CW_PRIVATE,
    AutotaskDoor,
    ConnectWiseDoor,
    PlainWebServer,
    autotask_config,
    connectwise_config,
    issue_certificate,
    nothing_listening,
    serve,
    silent_server,
)

from app.api.context import ServiceContext
from app.db import Database
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from app.sources.service import psa_text
from connectors.sdk.http import _tls_context

CHECK_SECONDS = 3.0  # 1.5 s per request: short, with room for a busy test machine
SECRETS = (CW_PRIVATE, CW_CLIENT_ID, AT_USER, AT_SECRET, AT_CODE)


@dataclass
class Northstar:
    client: CheckedClient
    admin: dict[str, str]
    context: ServiceContext


@pytest.fixture
def northstar(settings: Settings, db: Database) -> Iterator[Northstar]:
    """The real connectors on the real network, with a short check time limit."""
    settings = settings.model_copy(update={"source_check_timeout_seconds": CHECK_SECONDS})
    context = ServiceContext.build(settings, db=db)
    with db.session() as session:
        admin = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
    with CheckedClient(create_app(context=context, run_scheduler=False)) as client:
        yield Northstar(client, {"Authorization": f"Bearer {admin}"}, context)


def add_source(northstar: Northstar, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    response = northstar.client.post(
        "/api/v1/sources",
        headers=northstar.admin,
        json={"name": f"{kind} under test", "kind": kind, "config": config},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_explained(
    source: dict[str, Any], *, failure: str, host: str, settings: list[str]
) -> dict[str, Any]:
    """The check failed as `failure`, naming `host` and `settings`, and the source waits."""
    check: dict[str, Any] = source["check"]
    assert (check["ok"], check["failure"], check["host"]) == (False, failure, host), check
    assert check["settings"] == settings
    assert host in check["message"]
    for name in settings:
        named = f"`{name}`"
        # A word that is a credential somewhere in this process is masked everywhere (a
        # test elsewhere sends "secret" as a password): then it cannot be read here either.
        assert named in check["message"] or psa_text(named) != named, check["message"]
    assert not [secret for secret in SECRETS if secret in check["message"]]
    assert source["status"] == "unverified"
    assert (source["status_code"], source["status_message"]) == (check["code"], check["message"])
    return check


# ---- the network: DNS, refused, timeout, TLS ---------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "setting"),
    [
        ("connectwise", connectwise_config("https://psa.northwind.invalid"), "base_url"),
        ("connectwise", connectwise_config(None, site="psa.northwind.invalid"), "site"),
        (
            "autotask",
            autotask_config(zone_url="https://psa.northwind.invalid/ATServicesRest/"),
            "zone_url",
        ),
        (
            "autotask",
            autotask_config(
                zone_lookup_url="https://psa.northwind.invalid/atservicesrest/v1.0/zoneInformation"
            ),
            "zone_lookup_url",
        ),
    ],
    ids=["cw-base_url", "cw-site", "at-zone_url", "at-zone_lookup_url"],
)
def test_a_host_name_that_does_not_resolve_names_the_setting_it_came_from(
    northstar: Northstar, kind: str, config: dict[str, Any], setting: str
) -> None:
    source = add_source(northstar, kind, config)

    check = assert_explained(
        source, failure="dns", host="psa.northwind.invalid", settings=[setting]
    )
    assert check["code"] == "psa_host_not_found"
    assert "does not resolve" in check["message"]


@pytest.mark.parametrize("kind", ["connectwise", "autotask"])
def test_an_address_nothing_listens_on_is_a_refused_connection(
    northstar: Northstar, kind: str
) -> None:
    with nothing_listening() as url:
        port = url.rsplit(":", 1)[1]
        config = (
            connectwise_config(url)
            if kind == "connectwise"
            else autotask_config(zone_lookup_url=f"{url}/atservicesrest/v1.0/zoneInformation")
        )
        source = add_source(northstar, kind, config)

    setting = "base_url" if kind == "connectwise" else "zone_lookup_url"
    check = assert_explained(source, failure="refused", host="127.0.0.1", settings=[setting])
    assert f"nothing answers there on port {port}" in check["message"]


@pytest.mark.parametrize("kind", ["connectwise", "autotask"])
def test_a_server_that_never_answers_times_out_within_the_check_time_limit(
    northstar: Northstar, kind: str
) -> None:
    with silent_server() as url:
        config = (
            connectwise_config(url)
            if kind == "connectwise"
            else autotask_config(zone_url=f"{url}/ATServicesRest/")
        )
        started = time.monotonic()
        source = add_source(northstar, kind, config)
        took = time.monotonic() - started

    setting = "base_url" if kind == "connectwise" else "zone_url"
    check = assert_explained(source, failure="timeout", host="127.0.0.1", settings=[setting])
    assert "did not answer in time" in check["message"]
    assert took < CHECK_SECONDS + 2, "one try, no backoff"


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    issued, _cert, _key = issue_certificate(tmp_path, "self-signed", names=["127.0.0.1"])
    return issued.cert, issued.key


@pytest.mark.parametrize("kind", ["connectwise", "autotask"])
def test_a_self_signed_certificate_is_not_trusted(
    northstar: Northstar, kind: str, self_signed: tuple[Path, Path]
) -> None:
    door = ConnectWiseDoor() if kind == "connectwise" else AutotaskDoor()
    with serve(door, certificate=self_signed) as url:
        config = (
            connectwise_config(url)
            if kind == "connectwise"
            else autotask_config(zone_lookup_url=f"{url}/atservicesrest/v1.0/zoneInformation")
        )
        source = add_source(northstar, kind, config)

    setting = "base_url" if kind == "connectwise" else "zone_lookup_url"
    check = assert_explained(source, failure="tls", host="127.0.0.1", settings=[setting])
    assert check["code"] == "psa_certificate_untrusted"
    assert "the certificate is self-signed" in check["message"]


@pytest.fixture
def trusted_authority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[list[str]], tuple[Path, Path]]]:
    """An authority this test's Northstar trusts (through SSL_CERT_FILE, as a deployment
    would add one), and a function that issues server certificates from it."""
    issued, cert, key = issue_certificate(tmp_path, "authority", names=[], is_authority=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(issued.cert))
    _tls_context.cache_clear()  # the trust store is read once per process

    def server_certificate(names: list[str]) -> tuple[Path, Path]:
        leaf, _, _ = issue_certificate(tmp_path, "server", names=names, authority=(cert, key))
        return leaf.cert, leaf.key

    yield server_certificate
    _tls_context.cache_clear()


def test_a_certificate_for_another_host_name_is_not_trusted(
    northstar: Northstar, trusted_authority: Callable[[list[str]], tuple[Path, Path]]
) -> None:
    certificate = trusted_authority(["psa.someone-else.example"])
    with serve(ConnectWiseDoor(), certificate=certificate, host_name="localhost") as url:
        source = add_source(northstar, "connectwise", connectwise_config(url))

    check = assert_explained(source, failure="tls", host="localhost", settings=["base_url"])
    assert "the certificate was issued for another host name" in check["message"]


def test_a_certificate_from_a_trusted_authority_for_the_right_name_passes(
    northstar: Northstar, trusted_authority: Callable[[list[str]], tuple[Path, Path]]
) -> None:
    certificate = trusted_authority(["localhost"])
    with serve(ConnectWiseDoor(), certificate=certificate, host_name="localhost") as url:
        source = add_source(northstar, "connectwise", connectwise_config(url))

    assert (source["check"]["ok"], source["status"]) == (True, "active"), source["check"]


# ---- what the PSA answered: ConnectWise ---------------------------------------------------


@dataclass(frozen=True)
class Case:
    door: Callable[[], ConnectWiseDoor | AutotaskDoor | PlainWebServer]
    config: Callable[[str], dict[str, Any]]
    failure: str
    settings: list[str]
    psa_said: str | None = None


@contextmanager
def served(case: Case) -> Iterator[tuple[str, dict[str, Any]]]:
    door = case.door()
    with serve(door) as url:
        if isinstance(door, AutotaskDoor):
            door.zone_url = f"{url}/ATServicesRest/"
        yield url, case.config(url)


def at_lookup(url: str, **changes: Any) -> dict[str, Any]:
    return autotask_config(zone_lookup_url=f"{url}/atservicesrest/v1.0/zoneInformation", **changes)


CONNECTWISE_ANSWERS = {
    "keys-401": Case(
        ConnectWiseDoor,
        lambda url: connectwise_config(url, private_key="an-old-private-key"),
        "unauthorized",
        ["company_id", "public_key", "private_key"],
        "UserNotAuthenticated",
    ),
    "client_id-401": Case(
        ConnectWiseDoor,
        lambda url: connectwise_config(url, client_id="0f0f0f0f-0ther-4c1d-c11d"),
        "unauthorized",
        ["client_id"],
        "A valid clientId header is required.",
    ),
    "security-role-403": Case(
        lambda: ConnectWiseDoor(role_may_read_system=False),
        connectwise_config,
        "forbidden",
        ["public_key"],
    ),
    "unknown-company": Case(
        ConnectWiseDoor,
        lambda url: connectwise_config(url, company_id="northwnd"),
        "unknown_account",
        ["company_id"],
    ),
    "not-connectwise-404": Case(PlainWebServer, connectwise_config, "not_found", ["base_url"]),
    "no-api-under-the-codebase-404": Case(
        lambda: ConnectWiseDoor(api_codebase="v2024_1"),
        connectwise_config,
        "not_found",
        ["codebase", "base_url"],
    ),
}

AUTOTASK_ANSWERS = {
    "unknown-username-zone-500": Case(
        AutotaskDoor,
        lambda url: at_lookup(url, api_username="someone-else@door-msp.example"),
        "unknown_account",
        ["api_username"],
        "Zone information could not be determined",
    ),
    "secret-401": Case(
        AutotaskDoor,
        lambda url: at_lookup(url, secret="an-old-secret"),
        "unauthorized",
        ["api_username", "secret"],
    ),
    "integration-code-500": Case(
        AutotaskDoor,
        lambda url: at_lookup(url, integration_code="Q0THERC0DE4D8K2M"),
        "unauthorized",
        ["integration_code"],
        "IntegrationCode is invalid.",
    ),
    "security-level-500": Case(
        lambda: AutotaskDoor(api_user_may_read=False), at_lookup, "forbidden", ["api_username"]
    ),
    "zone_url-not-autotask-404": Case(
        PlainWebServer,
        lambda url: autotask_config(zone_url=f"{url}/ATServicesRest/"),
        "not_found",
        ["zone_url"],
    ),
}


@pytest.mark.parametrize("name", list(CONNECTWISE_ANSWERS))
def test_connectwise_answers_name_the_setting_to_fix(northstar: Northstar, name: str) -> None:
    case = CONNECTWISE_ANSWERS[name]
    with served(case) as (_url, config):
        source = add_source(northstar, "connectwise", config)

    check = assert_explained(source, failure=case.failure, host="127.0.0.1", settings=case.settings)
    assert check["psa_said"] == case.psa_said or case.psa_said is None
    if case.psa_said:
        assert check["message"].endswith(f"(ConnectWise said: {case.psa_said})")


@pytest.mark.parametrize("name", list(AUTOTASK_ANSWERS))
def test_autotask_answers_name_the_setting_to_fix(northstar: Northstar, name: str) -> None:
    case = AUTOTASK_ANSWERS[name]
    with served(case) as (_url, config):
        source = add_source(northstar, "autotask", config)

    check = assert_explained(source, failure=case.failure, host="127.0.0.1", settings=case.settings)
    if case.psa_said:
        assert check["psa_said"] == case.psa_said
        assert check["message"].endswith(f"(Autotask said: {case.psa_said})")


@pytest.mark.parametrize("kind", ["connectwise", "autotask"])
def test_the_right_settings_pass_and_the_source_is_active(northstar: Northstar, kind: str) -> None:
    case = (
        Case(ConnectWiseDoor, connectwise_config, "", [])
        if kind == "connectwise"
        else Case(AutotaskDoor, at_lookup, "", [])
    )
    with served(case) as (_url, config):
        source = add_source(northstar, kind, config)

    assert source["check"]["ok"] is True, source["check"]
    assert (source["status"], source["status_code"], source["status_message"]) == (
        "active",
        None,
        None,
    )
