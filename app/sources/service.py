"""Creating, changing and reading sources; building a source's connector.

A source whose connection settings are written (added, changed, resumed) is `unverified`
until its check passes (`app.sources.checks`). Text that comes from a PSA (its error
messages, whatever a proxy echoes) is stored, shown and logged only through `psa_text`, the
redaction the sync path uses too.
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

from app.db import Database, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.ingest.registry import registry
from app.logging import secrets_registry
from app.security.crypto import CredentialCipher
from app.sources.budget_ledger import DatabaseLedger
from app.sources.config import decrypt_secrets, merge_config, split_config, validate_config
from app.sources.models import DEFAULT_LIVE_INTERVAL_SECONDS, Source, SourceStatus
from app.sources.tenant_book import DatabaseTenantBook
from connectors.sdk import (
    Connector,
    ConnectorContext,
    RequestBudget,
    RetryPolicy,
    SourceHttpLimits,
)
from connectors.sdk.http import RequestStats

log = structlog.get_logger(__name__)

# PSA text kept on a source or shown by a check is cut to this many characters, after
# every credential in it is masked.
PSA_TEXT_LIMIT = 1000
CHECK_RETRY = RetryPolicy(max_attempts=1)


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
    live_interval_seconds: int = DEFAULT_LIVE_INTERVAL_SECONDS,
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
        live_interval_seconds=live_interval_seconds,
        status=SourceStatus.UNVERIFIED,
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
    live_interval_seconds: int | None = None,
    paused: bool | None = None,
) -> Source:
    if name is not None:
        source.name = name
    if live_interval_seconds is not None:
        source.live_interval_seconds = live_interval_seconds
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
        if (public, secrets) != (source.config, stored_secrets):
            source.config = public
            source.secrets_encrypted = cipher.encrypt(secrets)
            source.credentials_updated_at = utcnow()
            # New settings are unproven, whatever the old ones did: checked before syncing.
            if source.status != SourceStatus.PAUSED:
                _unverified(source)
    if paused is not None:
        if paused:
            source.status = SourceStatus.PAUSED
        elif source.status == SourceStatus.PAUSED:
            # Months may have passed: the PSA is asked again before the schedule is.
            _unverified(source)
    _flush_unique_name(session, source.name)
    return source


def _unverified(source: Source) -> None:
    source.status = SourceStatus.UNVERIFIED
    source.status_code = source.status_message = None


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
    """Request budgets live as long as the process, so consecutive runs share them; given a
    database, a budget counts its source's requests there, shared by every process."""

    def __init__(self) -> None:
        self._budgets: dict[tuple[int, int], RequestBudget] = {}
        self._lock = threading.Lock()

    def for_source(
        self, source_id: int, template: RequestBudget, db: Database | None = None
    ) -> RequestBudget:
        # Keyed by the Database too: two Database objects are two processes (tests).
        key = (id(db), source_id)
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None or (budget.limit, budget.window) != (template.limit, template.window):
                shared = db is not None and template.limit is not None
                ledger = DatabaseLedger(db, source_id) if shared and db is not None else None
                budget = self._budgets[key] = template.with_ledger(ledger)
            return budget


budgets = SourceBudgets()


def build_connector(
    source: Source,
    cipher: CredentialCipher,
    *,
    reporting_tz: tzinfo,
    transport: httpx.AsyncBaseTransport | None = None,
    check_timeout: float | None = None,
    db: Database | None = None,
) -> tuple[Connector, RequestStats]:
    """A ready connector for `source` with its request budget, and the counter of the
    requests it makes. Given `db`, the budget is counted there, shared with every process
    (the scheduler, CLI syncs); without, in this process only. With `check_timeout`
    (seconds), the connector is for a check: one attempt per request, each given half of
    it."""
    cls = connector_class(source.kind)
    config = load_config(source, cipher)
    http_limits = getattr(cls, "http_limits", None)
    limits: SourceHttpLimits = http_limits(config) if callable(http_limits) else SourceHttpLimits()
    limits = dataclasses.replace(
        limits, budget=budgets.for_source(source.id, limits.budget, db), stats=RequestStats()
    )
    if check_timeout is not None:
        # A check tells the owner now what is wrong: no backoff, no second try.
        limits = dataclasses.replace(limits, retry=CHECK_RETRY, timeout=check_timeout / 2)
    context = ConnectorContext(
        reporting_tz=reporting_tz,
        transport=transport,
        limits=limits,
        now=utcnow(),
        tenant=DatabaseTenantBook(db, source.id) if db is not None else None,
    )
    return cls(config, context), limits.stats


def psa_text(text: str, limit: int = PSA_TEXT_LIMIT) -> str:
    """Text from a PSA as Northstar may store, show or log it: every registered
    credential masked in every form it can take, then shortened to `limit`."""
    return secrets_registry.redact_and_shorten(text, limit)
