"""A small hand-made set of facts whose KPIs a person can check by hand (see test_kpi_values).

Reporting time zone: America/New_York, so local day and month boundaries differ from UTC.
January 2025 has 23 weekdays, February 20, March 21.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from connectors.sdk import (
    AmountPeriod,
    ClientFact,
    Fact,
    RecurringRevenueFact,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)

NY = ZoneInfo("America/New_York")
# The day the KPI world's source counts as backfilled from (its coverage: app.kpis.coverage).
HISTORY_FROM = date(2024, 1, 1)


def ny(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


EIGHT = (8.0, 8.0, 8.0, 8.0, 8.0, 0.0, 0.0)

T1 = TicketFact(  # met both SLAs: 1 h to respond, 4 h to resolve, closed next day
    external_id="T1",
    created_at=ny(2025, 1, 6, 10),
    client_external_id="c1",
    assignee_external_id="t1",
    board="Service",
    priority="Emergency",
    priority_level=1,
    first_response_at=ny(2025, 1, 6, 11),
    resolved_at=ny(2025, 1, 6, 14),
    closed_at=ny(2025, 1, 7, 9),
    is_closed=True,
    response_met=True,
    resolution_met=True,
)
T2 = TicketFact(  # created at 23:30 on Jan 31 in New York (Feb 1 in UTC); still open
    external_id="T2",
    created_at=ny(2025, 1, 31, 23, 30),
    client_external_id="c2",
    assignee_external_id="t1",
    board="Service",
    priority="Normal",
    priority_level=3,
    first_response_at=ny(2025, 2, 1, 1, 30),
    response_met=False,
)
T3 = TicketFact(  # no SLA; resolved and closed after 120 h
    external_id="T3",
    created_at=ny(2025, 1, 10),
    client_external_id="c1",
    board="Projects",
    priority="High",
    priority_level=2,
    resolved_at=ny(2025, 1, 15),
    closed_at=ny(2025, 1, 15),
    is_closed=True,
)
T4 = TicketFact(  # responded in 30 min (met), resolved after 48 h (breached)
    external_id="T4",
    created_at=ny(2025, 2, 3),
    client_external_id="c2",
    assignee_external_id="t1",
    board="Service",
    priority="Normal",
    priority_level=3,
    first_response_at=ny(2025, 2, 3, 9, 30),
    resolved_at=ny(2025, 2, 5),
    closed_at=ny(2025, 2, 6),
    is_closed=True,
    response_met=True,
    resolution_met=False,
)

FACTS: list[Fact] = [
    ClientFact("c1", "Acme Dental"),
    ClientFact("c2", "Globex Logistics"),
    TechnicianFact("t1", "Ada Active", capacity_hours=EIGHT),
    TechnicianFact("t2", "Ian Inactive", active=False, capacity_hours=EIGHT),
    TechnicianFact("t3", "Noel NotCounted", included_in_utilization=False, capacity_hours=EIGHT),
    T1,
    T2,
    T3,
    T4,
    TimeEntryFact("e1", "t1", date(2025, 1, 6), 4.0, 4.0, True, "c1", "T1"),
    TimeEntryFact("e2", "t1", date(2025, 1, 7), 2.0, 0.0, False, None, None),  # internal
    TimeEntryFact("e3", "t2", date(2025, 1, 8), 3.0, 0.0, True, "c2", "T2"),
    TimeEntryFact("e4", "t3", date(2025, 1, 9), 5.0, 5.0, True, "c1", None),
    TimeEntryFact("e5", "t1", date(2025, 2, 3), 6.0, 3.0, True, "c2", "T4"),
    SurveyResponseFact("s1", ny(2025, 1, 8), 1.0, "T1", "c1"),
    SurveyResponseFact("s2", ny(2025, 2, 7), 0.5, "T4", "c2"),
    RecurringRevenueFact(
        "r1",
        "Acme managed services",
        date(2024, 6, 1),
        "c1",
        amount_schedule=(AmountPeriod(date(2024, 6, 1), None, Decimal("1000.00")),),
    ),
    RecurringRevenueFact(  # cancelled on Feb 15: counts on Jan 31, not on Feb 28
        "r2",
        "Globex backup",
        date(2025, 1, 1),
        "c2",
        cancelled_on=date(2025, 2, 15),
        amount_schedule=(AmountPeriod(date(2025, 1, 1), date(2025, 2, 15), Decimal("500.00")),),
    ),
]
