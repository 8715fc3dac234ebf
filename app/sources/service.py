"""Creating, changing and reading sources; building a source's connector."""

from __future__ import annotations

import dataclasses
import threading
from datetime import tzinfo
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.ingest.registry import registry
from app.security.crypto import CredentialCipher
from app.sources.config import decrypt_secrets, merge_config, split_config, validate_config
from app.sources.models import Source, SourceStatus
from connectors.sdk import Connector, ConnectorContext, RequestBudget, SourceHttpLimits
from connectors.sdk.http import RequestStats


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
