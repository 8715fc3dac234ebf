"""CSAT survey results: sent on a share of closed tickets, mostly answered, skewed high."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from random import Random

from connectors.sandbox.business_hours import DAY, from_ts, to_ts
from connectors.sandbox.model import SurveyResult, Ticket, TicketState
from connectors.sandbox.roster import Roster

SURVEY_SHARE = 0.15
UNANSWERED_SHARE = 0.08
OTHER_COMPANY_SHARE = 0.02  # answered by a contact filed under another company
_RATINGS = (1, 2, 3, 4, 5)
_RATING_CUMULATIVE = tuple(accumulate((0.03, 0.04, 0.08, 0.25, 0.60)))


def rating_of(rng: Random) -> int:
    return _RATINGS[bisect_right(_RATING_CUMULATIVE, rng.random() * _RATING_CUMULATIVE[-1])]


def generate_survey_results(
    rng: Random, tickets: list[Ticket], roster: Roster, first_id: int = 1
) -> list[SurveyResult]:
    """Results for ~15 % of counted closed tickets; ids in the order surveys were sent."""
    now = roster.end_ts
    drafts: list[tuple[int, int, int, int | None, int | None]] = []
    for ticket in tickets:
        if (
            ticket.state is not TicketState.CLOSED
            or ticket.closed_at is None
            or ticket.merged_into is not None
            or ticket.deleted
            or rng.random() >= SURVEY_SHARE
        ):
            continue
        sent = min(to_ts(ticket.closed_at) + 300, now)
        client_id = ticket.client_id
        if rng.random() < OTHER_COMPANY_SHARE:
            client_id = roster.clients.pick(rng, sent) or client_id
        completed: int | None = sent + 1800 + int(rng.random() * 3 * DAY)
        rating: int | None = rating_of(rng)
        if rng.random() < UNANSWERED_SHARE or (completed is not None and completed > now):
            completed = rating = None
        drafts.append((sent, ticket.id, client_id, completed, rating))
    drafts.sort()
    return [
        SurveyResult(
            id=number,
            ticket_id=ticket_id,
            client_id=client_id,
            completed_at=None if completed is None else from_ts(completed),
            rating=rating,
            updated_at=from_ts(sent if completed is None else completed),
        )
        for number, (sent, ticket_id, client_id, completed, rating) in enumerate(
            drafts, start=first_id
        )
    ]
