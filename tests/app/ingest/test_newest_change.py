"""The runner keeps each stream's newest change stamp as it stores pages."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fake_psa import T0, FakeSetup

from app.ingest.models import SyncCursor
from app.ingest.runner import Trigger


def test_a_later_page_with_older_stamps_keeps_the_newest_change(fake: FakeSetup) -> None:
    # 35 tickets, 10 a page in id order: the newest change is on the first page.
    fake.api.records["tickets"][4]["updated"] = (T0 + timedelta(days=1)).isoformat()

    asyncio.run(fake.context.runner.sync_source(fake.source_id, trigger=Trigger.CLI))

    with fake.context.db.session() as session:
        tickets = session.get(SyncCursor, (fake.source_id, "tickets"))
        sweep = session.get(SyncCursor, (fake.source_id, "ticket_sweep"))
    assert tickets is not None and tickets.newest_change_at == T0 + timedelta(days=1)
    assert sweep is not None and sweep.newest_change_at is None  # a sweep reads ids only
