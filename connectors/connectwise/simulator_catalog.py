"""The fixed ConnectWise setup the simulator serves: priorities, statuses, work types,
billing cycles, company statuses and types, and the ticket survey with its questions."""

from __future__ import annotations

from typing import Any

from connectors.sandbox.model import BillingCycle, TicketState, TimeKind

Json = dict[str, Any]
API_VERSION = "2025.1"  # the model version the simulator reports
HREF_ROOT = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"

PRIORITY_NAMES = {
    1: "Priority 1 - Emergency Response",
    2: "Priority 2 - Quick Response",
    3: "Priority 3 - Normal Response",
    4: "Priority 4 - Schedule Maintenance",
    5: "Priority 5 - Next Time",
}
# Ids deliberately run against urgency: only `sortOrder` ranks priorities.
PRIORITY_ID_BASE = 20
STATUS_NAMES = {
    TicketState.NEW: ("New", False),
    TicketState.IN_PROGRESS: ("In Progress", False),
    TicketState.WAITING: ("Waiting Customer", False),
    TicketState.RESOLVED: ("Resolved", False),
    TicketState.CLOSED: (">Closed", True),
}
STATUS_ORDER = tuple(STATUS_NAMES)
COMPANY_STATUSES: tuple[Json, ...] = (
    {"id": 1, "name": "Active", "inactiveFlag": False},
    {"id": 2, "name": "Inactive", "inactiveFlag": True},
)
OWNER_TYPE = {"id": 1, "name": "Owner"}
CLIENT_TYPE = {"id": 2, "name": "Client"}
WORK_TYPES: tuple[Json, ...] = (
    {"id": 1, "name": "Remote Support", "utilizationFlag": True, "billTime": "Billable"},
    {"id": 2, "name": "Project Work", "utilizationFlag": True, "billTime": "Billable"},
    {"id": 3, "name": "Admin", "utilizationFlag": False, "billTime": "NoCharge"},
)
WORK_TYPE_OF = {TimeKind.TICKET: WORK_TYPES[0], TimeKind.PROJECT: WORK_TYPES[1]}
WORK_TYPE_OF[TimeKind.INTERNAL] = WORK_TYPES[2]
BILLING_CYCLES: tuple[Json, ...] = (
    {"id": 1, "identifier": "Monthly", "name": "Monthly", "billingOptions": "Monthly"},
    {"id": 2, "identifier": "Quarterly", "name": "Quarterly", "billingOptions": "Quarterly"},
    {"id": 3, "identifier": "Annual", "name": "Annual", "billingOptions": "Yearly"},
    {"id": 4, "identifier": "OneTime", "name": "One Time", "billingOptions": "NotRecurring"},
)
CYCLE_ID = {BillingCycle.MONTHLY: 1, BillingCycle.QUARTERLY: 2, BillingCycle.YEARLY: 3}
SURVEY_ID = 1
SURVEY: Json = {"id": SURVEY_ID, "name": "Ticket Satisfaction", "inactiveFlag": False}
# Answer index i of the first question is worth i points: a 1-5 rating scores (rating-1)/4.
SURVEY_QUESTIONS: tuple[Json, ...] = (
    {
        "id": 1,
        "sequenceNumber": 1,
        "type": "Selection",
        "question": "How satisfied are you with how we handled your ticket?",
        "options": [
            {"caption": caption, "points": points, "includeFlag": True}
            for points, caption in enumerate(
                ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied")
            )
        ],
        "includeFlag": True,
        "requiredFlag": True,
        "surveyId": SURVEY_ID,
    },
    {
        "id": 2,
        "sequenceNumber": 2,
        "type": "OpenEnded",
        "question": "Anything we could do better?",
        "includeFlag": True,
        "requiredFlag": False,
        "surveyId": SURVEY_ID,
    },
)
NO_CHARGE_ADDITION_OFFSET = 1_000_000  # ids of the decoy "no charge" additions
