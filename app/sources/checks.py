"""Checking a source: one short, bounded call to its PSA, and what the answer means for the
source's status.

A source is `unverified` from the moment its connection settings are written (it is added,
its settings are changed, it is resumed) until a check passes: only then is it `active`, and
only active sources are scheduled. A check makes one attempt per step, with short timeouts
(`source_check_timeout_seconds` in all, half of it per request), so adding a source answers
within seconds with what is wrong.

The status a check leaves:

| before          | passed | refused (credentials, account) | failed otherwise (network, busy) |
|-----------------|--------|--------------------------------|----------------------------------|
| unverified      | active | unverified                     | unverified                       |
| needs_attention | active | needs_attention                | needs_attention                  |
| active          | active | needs_attention                | active: its syncs retry          |
| paused          | paused | paused                         | paused (checked again on resume) |

A failure is kept on the source (`status_code`, `status_message`) until a check passes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import NorthstarError
from app.security.crypto import CredentialCipher, CredentialCipherError
from app.sources.models import Source, SourceStatus
from app.sources.service import build_connector, connector_class, get_source, psa_text
from connectors.sdk import ConnectorError
from connectors.sdk.check_errors import SourceCheckFailed, generic_wording
from connectors.sdk.network_failures import CheckFailure

if TYPE_CHECKING:
    from app.api.context import ServiceContext

log = structlog.get_logger(__name__)

TransportResolver = Callable[[Source], httpx.AsyncBaseTransport | None]


@dataclasses.dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What a check found. `refused`: the PSA turned the credentials or settings down, so
    only a person editing them can help. `failure`, `host`, `settings` and `psa_said` say
    what went wrong, at which host, what to fix and the PSA's own (masked) words."""

    ok: bool
    message: str
    code: str | None = None
    refused: bool = False
    failure: str | None = None
    host: str | None = None
    settings: tuple[str, ...] = ()
    psa_said: str | None = None

    @classmethod
    def explained(cls, failed: SourceCheckFailed) -> CheckOutcome:
        return cls(
            ok=False,
            code=failed.code,
            message=psa_text(failed.message),
            refused=failed.refused,
            failure=failed.failure.value,
            host=failed.host,
            settings=failed.settings,
            psa_said=psa_text(failed.psa_said) if failed.psa_said else None,
        )


def _address_host(config: dict[str, Any]) -> str:
    """The host of the first address among a source's settings (for a connector whose
    errors name none)."""
    for value in config.values():
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return httpx.URL(value).host or "its server"
    return "its server"


def _failed(source: Source, vendor: str, exc: ConnectorError) -> CheckOutcome:
    if not isinstance(exc, SourceCheckFailed):
        wording = generic_wording(vendor)
        exc = wording.explain(exc, host=_address_host(source.config), names={})
    return CheckOutcome.explained(exc)


async def check_connection(
    source: Source,
    cipher: CredentialCipher,
    *,
    reporting_tz: tzinfo,
    transport: httpx.AsyncBaseTransport | None = None,
    time_limit: float = 10.0,
) -> CheckOutcome:
    """The source's check, bounded by `time_limit` seconds in all. Never raises for the PSA's
    sake: a refusal, a failure or a crash is the outcome (PSA text in it only through
    `psa_text`). Changes nothing; see `SourceChecker`."""
    vendor = getattr(connector_class(source.kind), "display_name", source.kind)
    try:
        connector, _stats = build_connector(
            source, cipher, reporting_tz=reporting_tz, transport=transport, check_timeout=time_limit
        )
    except ConnectorError as exc:
        return _failed(source, vendor, exc)
    except (CredentialCipherError, NorthstarError) as exc:
        return CheckOutcome(ok=False, code=exc.code, message=str(exc), refused=True)
    try:
        async with asyncio.timeout(time_limit):
            await connector.check()
    except TimeoutError:
        return CheckOutcome(
            ok=False,
            code="psa_timeout",
            message=f"{vendor} did not finish answering the check within {time_limit:g} seconds. "
            "Try the check again in a few minutes; if it keeps happening, a firewall or proxy "
            "may be slowing the connection down.",
            failure=CheckFailure.TIMEOUT.value,
        )
    except ConnectorError as exc:
        return _failed(source, vendor, exc)
    except Exception as exc:
        log.exception("source_check_crashed", source_id=source.id)
        return CheckOutcome(
            ok=False,
            code="internal_error",
            message=(
                f"Northstar hit an unexpected problem ({type(exc).__name__}) while talking "
                f"to {connector.display_name}. See the service log."
            ),
        )
    finally:
        await connector.aclose()
    return CheckOutcome(ok=True, message=f"Connected to {connector.display_name}.")


def status_after_check(status: str, outcome: CheckOutcome) -> str:
    """The source's status after a check (the table in the module docstring)."""
    if status == SourceStatus.PAUSED:
        return status
    if outcome.ok:
        return SourceStatus.ACTIVE
    if status == SourceStatus.ACTIVE:
        return SourceStatus.NEEDS_ATTENTION if outcome.refused else SourceStatus.ACTIVE
    return status


def record_check(
    session: Session, source_id: int, outcome: CheckOutcome, *, settings_from: datetime
) -> None:
    """Set the source's status after `outcome`, a check of the settings written at
    `settings_from`. A source whose settings changed meanwhile is left alone: the check of
    the new settings decides."""
    source = session.get(Source, source_id)
    if source is None or source.credentials_updated_at != settings_from:
        return
    before = source.status
    source.status = status_after_check(before, outcome)
    if outcome.ok and source.status == SourceStatus.ACTIVE:
        source.status_code = source.status_message = None
    elif source.status in (SourceStatus.UNVERIFIED, SourceStatus.NEEDS_ATTENTION):
        source.status_code, source.status_message = outcome.code, outcome.message
    if source.status != before:
        log.info(
            "source_status_changed", source_id=source_id, before=before, now=str(source.status)
        )


@dataclasses.dataclass(frozen=True, slots=True)
class SourceChecker:
    """Runs a source's check and records what it found (see the module docstring)."""

    db: Database
    cipher: CredentialCipher
    reporting_tz: tzinfo
    transports: TransportResolver
    timeout: float = 10.0

    @classmethod
    def of(cls, context: ServiceContext) -> SourceChecker:
        """The checker of a running service: its database, key, PSA transports, timeout."""
        return cls(
            db=context.db,
            cipher=context.cipher,
            reporting_tz=context.settings.tz,
            transports=context.runner.transports,
            timeout=context.settings.source_check_timeout_seconds,
        )

    async def check(self, source_id: int) -> CheckOutcome:
        """Check the source and record the outcome. No session is held while the PSA is
        asked. Raises NotFound for an unknown source."""
        with self.db.session() as session:
            source = get_source(session, source_id)
            session.expunge(source)
        outcome = await check_connection(
            source,
            self.cipher,
            reporting_tz=self.reporting_tz,
            transport=self.transports(source),
            time_limit=self.timeout,
        )
        with self.db.session() as session:
            record_check(session, source_id, outcome, settings_from=source.credentials_updated_at)
        log.info(
            "source_checked",
            source_id=source_id,
            ok=outcome.ok,
            code=outcome.code,
            failure=outcome.failure,
            host=outcome.host,
        )
        return outcome
