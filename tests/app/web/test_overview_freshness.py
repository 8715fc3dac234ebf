"""The overview says, in words, how fresh each PSA's data is and when it is stale."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from app.ingest.models import SyncCursor
from app.web.freshness_words import freshness_line, span, stale_words
from tests.app.web.test_web_scorecard_page import sign_in


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize(
    ("seconds", "short", "long"),
    [
        (0, "0 s", "0 seconds"),
        (40, "40 s", "40 seconds"),
        (119, "119 s", "119 seconds"),
        (180, "3 min", "3 minutes"),
        (1020, "17 min", "17 minutes"),
        (7200, "2 h", "2 hours"),
        (3 * 86400, "3 days", "3 days"),
    ],
)
def test_spans_read_in_the_largest_unit_that_fits_twice(
    seconds: int, short: str, long: str
) -> None:
    assert (span(seconds), span(seconds, long=True)) == (short, long)


LIVE_TICKETS = {"name": "tickets", "cadence": "live", "checked_age_seconds": 40}
LIVE_TIME = {"name": "time_entries", "cadence": "live", "checked_age_seconds": 40}
SLOW_MEMBERS = {"name": "members", "cadence": "slow", "checked_age_seconds": 5}


def test_the_line_names_the_quickest_streams_with_both_ages() -> None:
    streams = [
        {**LIVE_TICKETS, "change_age_seconds": 180},
        {**LIVE_TIME, "change_age_seconds": None},
        SLOW_MEMBERS,
    ]
    assert freshness_line(streams) == (
        "Tickets checked 40 s ago, newest change 3 min ago; "
        "Time entries checked 40 s ago, no change seen yet."
    )


def test_the_warning_names_each_stale_stream_and_how_long() -> None:
    streams = [
        {**LIVE_TICKETS, "checked_age_seconds": 1020, "stale": True},
        {**LIVE_TIME, "checked_age_seconds": None, "stale": True},
        {**SLOW_MEMBERS, "stale": False},
    ]
    assert stale_words(streams) == (
        "Tickets not checked for 17 minutes, Time entries not checked yet"
    )


def test_the_overview_says_when_tickets_were_checked(kpi_source: Any) -> None:
    sign_in(kpi_source)

    text = _text(kpi_source.client.get("/").text)

    assert re.search(r"Tickets checked \d+ s ago, no change seen yet\.", text), text


def test_the_overview_warns_of_a_stale_source_in_words(kpi_source: Any) -> None:
    sign_in(kpi_source)
    with kpi_source.setup.context.db.session() as session:
        for state in session.scalars(select(SyncCursor)):
            assert state.last_success_at is not None
            state.last_success_at -= timedelta(minutes=16)

    text = _text(kpi_source.client.get("/").text)

    # The fake PSA's tickets are checked every 5 minutes: stale after 15.
    assert (
        "Stale: Tickets not checked for 16 minutes; the numbers below may be out of date." in text
    )
