"""Storing what a stream read: one transaction per page, and the end of a listing pass.

A page's facts, its quarantined records, the stream's cursor (or, for a listing stream, the
ids it saw) and the run's counts are written together, so a crash loses at most the page in
flight and the run record never says less than what is stored.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import case, literal, or_, update
from sqlalchemy.orm import Session

from app.db import Database, UTCDateTime
from app.facts.matching import resolve_matched_deletions
from app.facts.seen_ids import forget_seen, remember_seen, unseen_ids
from app.facts.store import WriteResult
from app.ingest.freshness import newest_change
from app.ingest.models import SyncCursor, SyncRun
from app.ingest.quarantine import (
    DIGEST_PREFIX,
    NormalizedPage,
    held_records,
    normalize_page,
    quarantine,
    release,
)
from app.ingest.run_book import StreamOutcome
from app.kpis.dirty import store_facts
from connectors.sdk import Connector, Deletion, MatchedDeletion, Page, StreamSpec

AMBIGUOUS_DELETIONS = (
    "Some deletions the PSA logged match more than one stored record; they are left for "
    "the next id sweep, which removes exactly what is gone."
)


def _newer_change(spec: StreamSpec, page: Page) -> dict[str, object]:
    """The stream's newest change stamp moved to the page's newest, when that is newer."""
    stamp = newest_change(spec, page.records)
    if stamp is None:
        return {}
    held = SyncCursor.newest_change_at
    moved = literal(stamp, UTCDateTime())
    return {"newest_change_at": case((or_(held.is_(None), held < moved), moved), else_=held)}


class PageStore:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self.db = db
        self.tz = tz

    def store(
        self,
        source_id: int,
        spec: StreamSpec,
        page: Page,
        normalized: NormalizedPage,
        outcome: StreamOutcome,
        mark_days: bool,
        *,
        move_cursor: bool = True,
    ) -> None:
        """Facts, quarantine, cursor (or seen ids) and the run's counts in one transaction.

        `move_cursor=False`: records a PSA announced by push, read again by id. They say
        nothing of the records around them, so the stream's cursor stays where its own reads
        left it; its newest change stamp still moves."""
        with self.db.session() as session:
            written = self._write(session, source_id, normalized, outcome, mark_days)
            quarantine(session, source_id, spec.name, outcome.run_id, normalized.rejected)
            release(session, source_id, spec.name, normalized.accepted_keys)
            if spec.sweeps is not None:
                seen = [
                    f.external_id
                    for f in normalized.facts
                    if f.fact_type == spec.sweeps and not isinstance(f, MatchedDeletion)
                ]
                # A record kept in quarantine still exists in the PSA: never swept away.
                held = [r.key for r in normalized.rejected]
                if any(r.key.startswith(DIGEST_PREFIX) for r in normalized.rejected):
                    outcome.listing_complete = False
                remember_seen(session, outcome.run_id, [*page.seen_ids, *seen, *held])
            else:
                moved: dict[str, object] = {"cursor": dict(page.cursor)} if move_cursor else {}
                moved |= _newer_change(spec, page)
                if moved:
                    session.execute(
                        update(SyncCursor)
                        .where(SyncCursor.source_id == source_id, SyncCursor.stream == spec.name)
                        .values(**moved)
                    )
            outcome.facts_changed += written.changed
            outcome.facts_deleted += written.deleted
            outcome.records_skipped += len(normalized.rejected)
            session.execute(
                update(SyncRun).where(SyncRun.id == outcome.run_id).values(**outcome.counts())
            )

    def retry_quarantined(
        self,
        source_id: int,
        connector: Connector,
        spec: StreamSpec,
        outcome: StreamOutcome,
        mark_days: bool,
    ) -> None:
        """Records still in quarantine are tried again at the end of every run (a newer
        connector may read them); those that now normalise are stored and released."""
        with self.db.session() as session:
            held = held_records(session, source_id, spec.name)
        if not held:
            return
        normalized = normalize_page(connector, spec, held)
        if not normalized.accepted_keys:
            return
        with self.db.session() as session:
            written = self._write(session, source_id, normalized, outcome, mark_days)
            release(session, source_id, spec.name, normalized.accepted_keys)
            outcome.facts_changed += written.changed
            outcome.facts_deleted += written.deleted

    def remove_unseen(
        self,
        source_id: int,
        spec: StreamSpec,
        run_started: datetime,
        outcome: StreamOutcome,
        mark_days: bool,
        *,
        id_range: tuple[int | None, int | None] | None = None,
    ) -> None:
        """After a complete listing: delete the stored facts the PSA no longer has (of those
        with ids in `id_range`, `low <= id < high`, when the listing was of that slice only)."""
        assert spec.sweeps is not None
        with self.db.session() as session:
            gone = unseen_ids(
                session,
                source_id,
                spec.sweeps,
                outcome.run_id,
                synced_before=run_started,
                id_range=id_range,
            )
            deletions = [Deletion(spec.sweeps, external_id) for external_id in gone]
            outcome.facts_deleted += store_facts(
                session, source_id, deletions, self.tz, mark_days=mark_days
            ).deleted
            forget_seen(session, outcome.run_id)

    def _write(
        self,
        session: Session,
        source_id: int,
        normalized: NormalizedPage,
        outcome: StreamOutcome,
        mark_days: bool,
    ) -> WriteResult:
        resolved = resolve_matched_deletions(session, source_id, normalized.facts)
        if resolved.ambiguous:
            outcome.warn(AMBIGUOUS_DELETIONS)
        return store_facts(session, source_id, resolved.items, self.tz, mark_days=mark_days)
