"""Acceptance (issue 15, "Secrets"): a PSA that echoes every credential it is sent, in every
kind of error, leaves no trace of any credential in any spelling: not in an API answer, a
log line at DEBUG, nor the database (the SQLite file's bytes; on PostgreSQL every row).

The real ConnectWise and Autotask connectors talk over real HTTP to `echo_psa` on loopback;
every source is checked and synced through the API and the in-process runner, then every
GET route is read as JSON and as CSV with a read and an admin key, and without one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import structlog
from echo_psa import EchoPsa, serve_echo_psa
from fake_psa import FakeConnector
from leak_guard import (
    LOG_COLLECTOR,
    CheckedClient,
    FragmentFinder,
    basic_credential_forms,
    find_leaks,
    leak_forms,
    register_known_secrets,
)
from sqlalchemy import text

from app.api.context import ServiceContext
from app.bi.odata.entities import ENTITY_SETS
from app.db import Base, Database
from app.ingest.runner import Trigger
from app.kpis.catalogue import CATALOGUE
from app.logging import MASK, secrets_registry
from app.main import create_app
from app.security.apikeys import create_api_key
from app.security.models import KeyScope
from app.settings import Settings
from connectors.sdk import RetryPolicy

# Distinctive credentials with the characters that make each encoding differ from the plain
# value: quote and backslash (JSON), slash, plus, equals, ampersand and at (URL), and an
# alignment that puts the private key mid-way through a base64 group of the Basic value.
CW_COMPANY = "echoco"
CW_PUBLIC = "EchoPublic7"
CW_PRIVATE = 'Pv8"kQ\\z/+LeakPrivate=41'
CW_CLIENT_ID = "cid-Leak/9f2e+77@echo"
AT_USER = "leak.user+ns@psa-echo.example"
AT_SECRET = 'At"Secret\\Leak/93+&=x'
AT_CODE = "INTEG+LEAK/CODE=8842Q"
SECRETS = (CW_PRIVATE, CW_CLIENT_ID, AT_USER, AT_SECRET, AT_CODE)
register_known_secrets(*SECRETS)

WHOLE_FORMS = frozenset(
    {form for secret in SECRETS for form in leak_forms(secret)}
    | basic_credential_forms(f"{CW_COMPANY}+{CW_PUBLIC}", CW_PRIVATE)
)
# A run this long of any form is a leak too (the product masks runs from 10 characters).
PIECES = FragmentFinder(WHOLE_FORMS, length=12)
CW_MODES = ("401", "403", "404", "500", "502", "junk", "cut")
AT_ZONE_MODES = ("403", "404", "500", "502", "junk", "cut")


def leaks_in(haystack: str) -> list[str]:
    return find_leaks(haystack, WHOLE_FORMS) + PIECES.find(haystack)


def cw_config(echo: EchoPsa, mode: str, *, codebase: str | None = "v2025_1") -> dict[str, Any]:
    return {
        "base_url": echo.url(mode),
        "codebase": codebase,
        "company_id": CW_COMPANY,
        "public_key": CW_PUBLIC,
        "private_key": CW_PRIVATE,
        "client_id": CW_CLIENT_ID,
    }


def at_config(echo: EchoPsa, **where: str) -> dict[str, Any]:
    return {"api_username": AT_USER, "secret": AT_SECRET, "integration_code": AT_CODE, **where}


def hostile_sources(echo: EchoPsa) -> dict[str, tuple[str, dict[str, Any]]]:
    lookup = "atservicesrest/v1.0/zoneInformation"
    sources: dict[str, tuple[str, dict[str, Any]]] = {
        f"cw-{mode}": ("connectwise", cw_config(echo, mode)) for mode in CW_MODES
    }
    sources["cw-discover-404"] = ("connectwise", cw_config(echo, "404", codebase=None))
    sources["cw-discover-500"] = ("connectwise", cw_config(echo, "500", codebase=None))
    for mode in AT_ZONE_MODES:
        zone = echo.url(mode, "ATServicesRest/")
        sources[f"at-{mode}"] = ("autotask", at_config(echo, zone_url=zone))
    for mode in ("401", "500", "cut"):
        where = {"zone_lookup_url": echo.url(mode, lookup)}
        sources[f"at-lookup-{mode}"] = ("autotask", at_config(echo, **where))
    sources["at-found-401"] = (
        "autotask",
        at_config(echo, zone_lookup_url=echo.url("zone-401", lookup)),
    )
    return sources


@pytest.fixture
def echo() -> Iterator[EchoPsa]:
    with serve_echo_psa() as server:
        yield server


@pytest.fixture
def libraries_at_debug() -> Iterator[None]:
    """httpx and httpcore log every URL they fetch at DEBUG/INFO: let them, to show that
    their lines are masked too."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without waiting (the echo server also answers `Retry-After: 0`), so every
    retry path runs in a fraction of a second."""
    monkeypatch.setattr(RetryPolicy, "backoff", lambda _self, _attempt: 0.0)


def every_get_url(app: Any, source_ids: list[int]) -> list[str]:
    """Every GET path of the OpenAPI document (path parameters filled in: each source, each
    OData entity set) and the pages it leaves out."""
    candidates: dict[str, list[str]] = {
        "source_id": [str(i) for i in source_ids],
        "name": list(ENTITY_SETS),
        "key": [CATALOGUE[0].key],
        "quarter": ["2025-Q1"],
    }
    templates = [path for path, operations in app.openapi()["paths"].items() if "get" in operations]
    urls = []
    for template in [*templates, "/", "/odata"]:
        paths = [template]
        for param in re.findall(r"{(\w+)}", template):
            values = candidates.get(param, ["1"])
            paths = [p.replace(f"{{{param}}}", v) for p in paths for v in values]
        urls += paths
    return urls


def database_text(settings: Settings, db: Database) -> str:
    """The raw SQLite files (the database, its journal and WAL), or on PostgreSQL the text
    of every row of every table."""
    if settings.database_url.startswith("sqlite"):
        path = Path(settings.database_url.split("///", 1)[1])
        files = [
            p for p in (path, *(Path(f"{path}{s}") for s in ("-wal", "-journal"))) if p.exists()
        ]
        # Free pages are zeros: one NUL stands for a run of them.
        raw = b"\0".join(re.sub(rb"\0+", b"\0", p.read_bytes()) for p in files)
        return raw.decode("latin-1")
    # Each row as PostgreSQL spells it; table names come from the models, not from input.
    with db.session() as session:
        rows = [
            str(row)
            for table in Base.metadata.sorted_tables
            for row in session.execute(text(f'SELECT CAST(t AS text) FROM "{table.name}" t'))  # noqa: S608
        ]
    return "\n".join(rows)


@pytest.mark.anyio
async def test_an_echoing_psa_leaks_no_credential_anywhere(
    settings: Settings,
    db: Database,
    echo: EchoPsa,
    no_backoff: None,
    libraries_at_debug: None,
) -> None:
    first_line = len(LOG_COLLECTOR.lines)
    context = ServiceContext.build(settings, db=db)
    with context.db.session() as session:
        admin_key = create_api_key(session, name="admin", scope=KeyScope.ADMIN).key
        read_key = create_api_key(session, name="read", scope=KeyScope.READ).key
    admin = {"Authorization": f"Bearer {admin_key}"}
    read = {"X-API-Key": read_key}
    app = create_app(context=context, run_scheduler=False)
    answers: list[str] = []
    with CheckedClient(app) as client:

        def keep(response: Any) -> Any:
            answers.append(response.text)
            return response

        ids: dict[str, int] = {}
        for name, (kind, config) in hostile_sources(echo).items():
            body = {"name": name, "kind": kind, "config": config}
            created = keep(client.post("/api/v1/sources", headers=admin, json=body))
            assert created.status_code == 201, created.text
            ids[name] = created.json()["id"]
        for source_id in ids.values():
            # Every check fails, so every source stays unverified: neither a sync request
            # nor the schedule syncs it (the CLI's sync below does).
            asked = keep(client.post(f"/api/v1/sources/{source_id}/sync", headers=admin))
            assert asked.status_code == 422
            await context.runner.sync_source(source_id, trigger=Trigger.SCHEDULE)
        checks = {
            name: keep(client.post(f"/api/v1/sources/{source_id}/check", headers=admin)).json()
            for name, source_id in ids.items()
        }
        for source_id in ids.values():
            await context.runner.sync_source(source_id, trigger=Trigger.CLI)
        for url in every_get_url(app, list(ids.values())):
            for headers in ({}, read, admin, {**read, "Accept": "text/csv"}):
                keep(client.get(url, headers=headers))
            keep(client.get(url, params={"format": "csv"}, headers=read))
        listed = {s["name"]: s for s in client.get("/api/v1/sources", headers=read).json()}
    log_lines = LOG_COLLECTOR.lines[first_line:]
    stored = database_text(settings, db)

    # The echo server did receive every credential, in the forms the connectors send.
    sent = echo.sent_header_values()
    assert {CW_CLIENT_ID, AT_USER, AT_SECRET, AT_CODE} <= sent
    assert basic_credential_forms(f"{CW_COMPANY}+{CW_PUBLIC}", CW_PRIVATE) & sent
    assert any(f"user={quote(AT_USER, safe='')}" in r.target for r in echo.requests)
    # ...and its echoes reached Northstar, masked.
    assert all(not check["ok"] for check in checks.values()), checks
    assert checks["cw-401"]["code"] == "psa_auth_failed"
    cw_refusal, at_refusal = checks["cw-401"]["message"], checks["at-found-401"]["message"]
    assert f"Authorization: {MASK}" in cw_refusal and f"clientId: {MASK}" in cw_refusal
    for header in ("Secret", "UserName", "ApiIntegrationCode"):
        assert f"{header}: {MASK}" in at_refusal
    assert f'"user": "{MASK}"' in checks["at-lookup-500"]["message"]
    for refused in ("cw-401", "cw-403", "at-found-401", "at-lookup-500"):
        assert listed[refused]["status"] == "needs_attention"
        assert MASK in listed[refused]["status_message"]
    assert MASK in stored
    assert any(MASK in line for line in log_lines)

    # Not one spelling of one credential, whole or a long piece, anywhere.
    assert [leaks_in(a) for a in answers if leaks_in(a)] == []
    assert [line for line in log_lines if leaks_in(line)] == []
    assert leaks_in(stored) == []


# ---- the same redaction on every path, one behaviour at a time ---------------------------


def test_a_check_answer_and_the_reason_kept_on_the_source_mask_the_psa_echo(api: Any) -> None:
    token = api.setup.api.token
    echo = f"Token {token}, {quote(token)}, {base64.b64encode(token.encode()).decode()}"
    api.setup.api.faults = [(401, {}, json.dumps({"message": f"Refused {echo}"}))]
    source_id = api.setup.source_id

    check = api.client.post(f"/api/v1/sources/{source_id}/check", headers=api.admin).json()

    # "Token <token>" is masked whole: it is the Authorization value the connector sends.
    refused = f"Refused {MASK}, {MASK}, {MASK}"
    assert (check["ok"], check["code"], check["psa_said"]) == (False, "psa_auth_failed", refused)
    assert check["message"].endswith(f"(Fake PSA said: {refused})")
    shown = api.client.get(f"/api/v1/sources/{source_id}", headers=api.read).json()
    assert (shown["status"], shown["status_message"]) == ("needs_attention", check["message"])
    as_csv = api.client.get("/api/v1/sources?format=csv", headers=api.read).text
    assert refused in as_csv


def test_a_check_that_crashes_says_so_instead_of_a_500(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(_self: Any) -> None:
        raise RuntimeError(f"connector bug near {api.setup.api.token}")

    monkeypatch.setattr(FakeConnector, "check", crash)
    source_id = api.setup.source_id

    check = api.client.post(f"/api/v1/sources/{source_id}/check", headers=api.admin)

    assert check.status_code == 200
    assert {k: check.json()[k] for k in ("ok", "code", "message")} == {
        "ok": False,
        "code": "internal_error",
        "message": "Northstar hit an unexpected problem (RuntimeError) while talking to "
        "Fake PSA. See the service log.",
    }
    shown = api.client.get(f"/api/v1/sources/{source_id}", headers=api.read).json()
    assert shown["status"] == "active"


def test_a_secret_cut_by_the_log_limit_leaves_no_prefix_in_the_log(api: Any) -> None:
    token = api.setup.api.token
    said = "Fake PSA answered 500 on GET /clients: "
    # The token starts 8 characters before the 200th of the logged problem.
    body = "x" * (200 - len(said) - 8) + token
    api.setup.api.faults = [(500, {"Retry-After": "0"}, body)]
    first_line = len(LOG_COLLECTOR.lines)

    # A sync tries the 500 again and logs why (a check answers at once, without retrying).
    synced = asyncio.run(api.setup.context.runner.sync_source(api.setup.source_id, trigger="cli"))

    assert [o.error_code for o in synced] == [None, None, None]
    (retry,) = [line for line in LOG_COLLECTOR.lines[first_line:] if "psa_request_retry" in line]
    assert token[:8] not in retry
    assert f'"problem": "{said}{"x" * (200 - len(said) - 8)}{MASK}"' in retry


def test_a_secret_inside_any_logged_object_is_masked_in_the_line() -> None:
    secrets_registry.add("object-secret+7b@msp.example")
    url = httpx.URL("https://psa.test/zone", params={"user": "object-secret+7b@msp.example"})
    first_line = len(LOG_COLLECTOR.lines)

    structlog.get_logger("test").info("zone_lookup", url=url, headers=httpx.Headers({"a": "b"}))

    (line,) = LOG_COLLECTOR.lines[first_line:]
    assert "object-secret" not in line and "%40msp.example" not in line
    assert f"https://psa.test/zone?user={MASK}" in line
