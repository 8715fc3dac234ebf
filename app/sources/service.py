"""Creating, changing, reading and checking sources; building a source's connector.

Text that comes from a PSA (its error messages, whatever a proxy echoes) is stored, shown and
logged only through `psa_text`, the redaction the sync path uses too.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import tzinfo
from typing import Any

import httpx
import structlog
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.ingest.registry import registry
from app.logging import secrets_registry
from app.security.crypto import CredentialCipher
from app.sources.config import decrypt_secrets, merge_config, split_config, validate_config
from app.sources.models import Source, SourceStatus
from connectors.sdk import (
    AuthError,
    ConfigError,
    Connector,
    ConnectorContext,
    ConnectorError,
    RequestBudget,
    SourceHttpLimits,
)
from connectors.sdk.http import RequestStats

log = structlog.get_logger(__name__)

# PSA text kept on a source or shown by a check is cut to this many characters, after
# every credential in it is masked.
PSA_TEXT_LIMIT = 1000


def connector_class(kind: str) -> type[Connector]:
    cls = registry.get(kind)
    if cls is None:
        known = ", ".join(sorted(registry.all())) or "none installed"
        raise InvalidInput(
            f"Unknown PSA kind {kind!r}. Installed connectors: {known}.", code="unknown_connector"
        )
    return cls


def get_source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"There is no source with id {source_id}.", code="source_not_found")
    return source


def find_source(session: Session, ref: str) -> Source:
    """A source by id or by name (for the CLI)."""
    source = session.get(Source, int(ref)) if ref.isdigit() else None
    source = source or session.scalar(select(Source).where(Source.name == ref))
    if source is None:
        raise NotFound(f"There is no source called {ref!r}.", code="source_not_found")
    return source


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.id)))


def create_source(
    session: Session,
    cipher: CredentialCipher,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    fast_interval_minutes: int,
    slow_interval_minutes: int,
) -> Source:
    cls = connector_class(kind)
    public, secrets = split_config(validate_config(cls.config_model, config))
    source = Source(
        name=name,
        kind=kind,
        config=public,
        secrets_encrypted=cipher.encrypt(secrets),
        fast_interval_minutes=fast_interval_minutes,
        slow_interval_minutes=slow_interval_minutes,
        status=SourceStatus.ACTIVE,
    )
    session.add(source)
    _flush_unique_name(session, name)
    return source


def update_source(
    session: Session,
    cipher: CredentialCipher,
    source: Source,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    fast_interval_minutes: int | None = None,
    slow_interval_minutes: int | None = None,
    paused: bool | None = None,
) -> Source:
    if name is not None:
        source.name = name
    if fast_interval_minutes is not None:
        source.fast_interval_minutes = fast_interval_minutes
    if slow_interval_minutes is not None:
        source.slow_interval_minutes = slow_interval_minutes
    if config:
        cls = connector_class(source.kind)
        stored_secrets = decrypt_secrets(cipher, source.secrets_encrypted)
        public, secrets = split_config(
            merge_config(cls.config_model, source.config, stored_secrets, config)
        )
        source.config = public
        source.secrets_encrypted = cipher.encrypt(secrets)
        source.credentials_updated_at = utcnow()
        # Edited settings deserve a fresh try, even after the PSA refused the old ones.
        if source.status == SourceStatus.NEEDS_ATTENTION:
            source.status = SourceStatus.ACTIVE
            source.status_code = source.status_message = None
    if paused is not None:
        if paused:
            source.status = SourceStatus.PAUSED
        elif source.status == SourceStatus.PAUSED:
            source.status = SourceStatus.ACTIVE
    _flush_unique_name(session, source.name)
    return source


def _flush_unique_name(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"A source called {name!r} already exists; choose another name.",
            code="source_name_taken",
        ) from None


def load_config(source: Source, cipher: CredentialCipher) -> BaseModel:
    cls = connector_class(source.kind)
    secrets = decrypt_secrets(cipher, source.secrets_encrypted)
    return validate_config(cls.config_model, {**source.config, **secrets})


class SourceBudgets:
    """Request budgets live as long as the process, so consecutive runs share them."""

    def __init__(self) -> None:
        self._budgets: dict[int, RequestBudget] = {}
        self._lock = threading.Lock()

    def for_source(self, source_id: int, template: RequestBudget) -> RequestBudget:
        with self._lock:
            budget = self._budgets.get(source_id)
            if budget is None or (budget.limit, budget.window) != (template.limit, template.window):
                budget = self._budgets[source_id] = template
            return budget


budgets = SourceBudgets()


def build_connector(
    source: Source,
    cipher: CredentialCipher,
    *,
    reporting_tz: tzinfo,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Connector, RequestStats]:
    """A ready connector for `source` with this process's shared budget for it, and the
    counter of the requests it makes."""
    cls = connector_class(source.kind)
    config = load_config(source, cipher)
    http_limits = getattr(cls, "http_limits", None)
    limits: SourceHttpLimits = http_limits(config) if callable(http_limits) else SourceHttpLimits()
    limits = dataclasses.replace(
        limits, budget=budgets.for_source(source.id, limits.budget), stats=RequestStats()
    )
    context = ConnectorContext(
        reporting_tz=reporting_tz, transport=transport, limits=limits, now=utcnow()
    )
    return cls(config, context), limits.stats


def psa_text(text: str, limit: int = PSA_TEXT_LIMIT) -> str:
    """Text from a PSA as Northstar may store, show or log it: every registered
    credential masked in every form it can take, then shortened to `limit`."""
    return secrets_registry.redact_and_shorten(text, limit)


@dataclasses.dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What a check found. `needs_attention`: the PSA refused the credentials or the
    settings, so the source waits for a person to edit them."""

    ok: bool
    message: str
    code: str | None = None
    needs_attention: bool = False

    @classmethod
    def failed(cls, exc: ConnectorError) -> CheckOutcome:
        return cls(
            ok=False,
            code=exc.code,
            message=psa_text(exc.message),
            needs_attention=isinstance(exc, AuthError | ConfigError),
        )


async def check_connection(
    source: Source,
    cipher: CredentialCipher,
    *,
    reporting_tz: tzinfo,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckOutcome:
    """One cheap authenticated call to the source's PSA. Never raises for the PSA's sake:
    a refusal, a failure or a crash is the outcome's code and message (PSA text in it only
    through `psa_text`). Changes nothing; see `record_check`."""
    try:
        connector, _stats = build_connector(
            source, cipher, reporting_tz=reporting_tz, transport=transport
        )
    except ConnectorError as exc:
        return CheckOutcome.failed(exc)
    try:
        await connector.check()
    except ConnectorError as exc:
        return CheckOutcome.failed(exc)
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


def record_check(session: Session, source_id: int, outcome: CheckOutcome) -> None:
    """A check whose credentials or settings were refused puts the source in
    `needs_attention` with the (redacted) reason; any other outcome changes nothing."""
    if not outcome.needs_attention:
        return
    source = get_source(session, source_id)
    source.status = SourceStatus.NEEDS_ATTENTION
    source.status_code, source.status_message = outcome.code, psa_text(outcome.message)
