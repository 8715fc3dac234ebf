"""Records that cannot become facts: kept raw, listed, and tried again (issue: bad records).

A PSA sometimes sends a record Northstar cannot read: a ticket without its change stamp, a
time entry without its date, hours that are not a number. Dropping it silently makes KPIs
wrong without a word; failing the stream on it blocks every later record behind it. Instead
the record is quarantined: kept raw with the field and the reason, listed on the run and in
`GET /api/v1/sources/{id}/quarantine`, while the rest of its page is stored and the stream
moves on. The record is tried again whenever the PSA sends it again (once fixed at the
source it carries a new change stamp, so the next incremental read brings it) and on every
later run of its stream (a newer Northstar may read it); it leaves quarantine once stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.ingest.models import QuarantinedRecord
from app.logging import secrets_registry
from connectors.sdk import Connector, FactOrDeletion, Record, RecordRejected, StreamSpec

log = structlog.get_logger(__name__)

# Raw records are kept as sent; one far larger than any PSA record is cut to its key fields.
MAX_RAW_CHARS = 64_000
# The key of a record without an id: its content's digest.
DIGEST_PREFIX = "sha256:"


@dataclass(frozen=True, slots=True)
class Rejection:
    key: str
    field: str
    reason: str
    raw: dict[str, Any]


@dataclass(slots=True)
class NormalizedPage:
    facts: list[FactOrDeletion] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # Keys of records that normalised: any quarantine entry of theirs is resolved.
    accepted_keys: list[str] = field(default_factory=list)


def record_key(spec: StreamSpec, record: Record) -> str:
    """The record's id in the PSA, or a digest of its content when it has none."""
    value = record.get(spec.primary_key)
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value):
        return str(value)[:80]
    digest = hashlib.sha256(_json(record).encode()).hexdigest()
    return f"{DIGEST_PREFIX}{digest[:72]}"


def normalize_page(
    connector: Connector, spec: StreamSpec, records: Sequence[Record]
) -> NormalizedPage:
    """Normalise every record of a page; a record that fails is set aside, never the page."""
    page = NormalizedPage()
    for record in records:
        key = record_key(spec, record)
        try:
            page.facts.extend(connector.normalize(spec.name, record))
        except RecordRejected as rejected:
            page.rejected.append(_rejection(key, rejected.field, rejected.reason, record))
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            # A connector that did not anticipate this shape: still one record, not a stream.
            reason = f"could not be read ({type(exc).__name__})"
            page.rejected.append(_rejection(key, _field_of(exc), reason, record))
        else:
            page.accepted_keys.append(key)
    return page


def quarantine(
    session: Session, source_id: int, stream: str, run_id: int, rejected: Sequence[Rejection]
) -> None:
    """Keep (or refresh) the rejected records of one page, in the page's transaction."""
    if not rejected:
        return
    now = utcnow()
    latest = {r.key: r for r in rejected}
    stored = {
        row.record_key: row
        for row in session.scalars(
            select(QuarantinedRecord).where(
                QuarantinedRecord.source_id == source_id,
                QuarantinedRecord.stream == stream,
                QuarantinedRecord.record_key.in_(list(latest)),
            )
        )
    }
    for key, rejection in latest.items():
        row = stored.get(key)
        if row is None:
            row = QuarantinedRecord(
                source_id=source_id, stream=stream, record_key=key, first_seen_at=now
            )
            session.add(row)
        row.field, row.reason, row.raw = rejection.field, rejection.reason, rejection.raw
        row.last_seen_at, row.last_run_id = now, run_id
    log.warning(
        "records_quarantined",
        stream=stream,
        count=len(latest),
        fields=sorted({r.field for r in latest.values()}),
    )


def release(session: Session, source_id: int, stream: str, keys: Sequence[str]) -> int:
    """Records that were stored this time leave quarantine; returns how many left."""
    released = 0
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        result = session.execute(
            delete(QuarantinedRecord).where(
                QuarantinedRecord.source_id == source_id,
                QuarantinedRecord.stream == stream,
                QuarantinedRecord.record_key.in_(chunk),
            )
        )
        released += int(getattr(result, "rowcount", 0) or 0)
    return released


def held_records(session: Session, source_id: int, stream: str) -> list[Record]:
    """The raw records of a stream still in quarantine, to try again at the end of a run."""
    return list(
        session.scalars(
            select(QuarantinedRecord.raw).where(
                QuarantinedRecord.source_id == source_id, QuarantinedRecord.stream == stream
            )
        )
    )


def _rejection(key: str, field_name: str, reason: str, record: Record) -> Rejection:
    reason = secrets_registry.scrub(reason)[:500]
    return Rejection(key=key, field=field_name[:120], reason=reason, raw=_kept_raw(record))


def _kept_raw(record: Record) -> dict[str, Any]:
    # A PSA (or a proxy) that echoes credentials into a record must not store them here.
    text = secrets_registry.scrub(_json(record))
    try:
        raw = json.loads(text)
    except ValueError:
        return {"_unreadable": text[:MAX_RAW_CHARS]}
    if len(_json(raw)) <= MAX_RAW_CHARS:
        return dict(raw)
    return {"_truncated": True, **{k: v for k, v in raw.items() if not isinstance(v, dict | list)}}


def _field_of(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return "(unknown)"


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
