"""Support for the ConnectWise connector tests: a hand-made world whose facts are checked by
hand, credentials, and a factory wiring a connector to a simulator through an ASGI transport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from connectors.connectwise import ConnectWiseConfig, ConnectWiseConnector
from connectors.connectwise.simulator import ConnectWiseSimulator, create_connectwise_simulator
from connectors.sandbox.model import (
    Agreement,
    BillingCycle,
    Client,
    Priority,
    RevenueLine,
    SandboxWorld,
    Sla,
    SlaTarget,
    SurveyResult,
    Technician,
    Ticket,
    TicketState,
    TimeEntry,
    TimeKind,
)
from connectors.sdk import ConnectorContext, RetryPolicy, SourceHttpLimits

COMPANY = "northwind"
PUBLIC_KEY = "pub-key-123"
PRIVATE_KEY = "very-private-key-456"
CLIENT_ID = "3f1c7c1e-0000-4000-8000-0000000000aa"
NOW = datetime(2025, 12, 1, tzinfo=UTC)


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def hand_world() -> SandboxWorld:
    """A tiny MSP: one ticket per SLA situation, three kinds of time, two agreements."""
    updated = at("2025-11-01")
    clients = [
        Client(1, "Northwind IT", True, updated, is_msp_itself=True),
        Client(2, "Acme Dental", True, updated),
        Client(3, "Birch Law", False, updated),
        Client(4, "Gone Ltd", True, updated, deleted=True),
    ]
    full_week = (7.5,) * 5 + (0.0, 0.0)
    technicians = [
        Technician(1, "Jordan", "Smith", "jordan@nw.example", True, True, full_week, updated),
        Technician(2, "Priya", "Patel", "priya@nw.example", False, False, None, updated),
    ]
    priorities = [Priority(level, sort) for level, sort in enumerate((2, 4, 6, 8, 9), start=1)]
    slas = [
        Sla(1, "Standard", SlaTarget(4.0, 24.0), overrides={1: SlaTarget(1.0, None)}),
    ]

    def ticket(ticket_id: int, **fields: Any) -> Ticket:
        values: dict[str, Any] = dict(
            id=ticket_id,
            number=str(ticket_id),
            title=f"Ticket {ticket_id}",
            client_id=2,
            board="Service Desk",
            state=TicketState.CLOSED,
            priority_level=3,
            assignee_id=1,
            created_at=at("2025-10-06"),
            updated_at=at("2025-10-10"),
            sla_id=1,
        )
        values.update(fields)
        return Ticket(**values)

    tickets = [
        # 1: met both stages (120 <= 240, 600 <= 1440)
        ticket(1, first_response_at=at("2025-10-06", 11), resolved_at=at("2025-10-07", 10),
               closed_at=at("2025-10-07", 12), respond_minutes=120, resolve_minutes=600),
        # 2: breached both (300 > 240, 2000 > 1440), resolved but not closed
        ticket(2, state=TicketState.RESOLVED, first_response_at=at("2025-10-06", 14),
               resolved_at=at("2025-10-09", 10), respond_minutes=300, resolve_minutes=2000),
        # 3: no SLA at all
        ticket(3, sla_id=None, board="Projects Support", first_response_at=at("2025-10-06", 10),
               resolved_at=at("2025-10-08"), closed_at=at("2025-10-08"), respond_minutes=60,
               resolve_minutes=900),
        # 4: P1 override: respond within 1 h (90 > 60 breached); resolution keeps 24 h (met)
        ticket(4, priority_level=1, first_response_at=at("2025-10-06", 10, 30),
               resolved_at=at("2025-10-07"), closed_at=at("2025-10-07"), respond_minutes=90,
               resolve_minutes=600),
        # 5: not yet responded
        ticket(5, state=TicketState.NEW, assignee_id=None),
        # 6: merged into 1
        ticket(6, merged_into=1, closed_at=at("2025-10-06", 10), resolved_at=at("2025-10-06", 10),
               resolve_minutes=60),
        # 7: deleted
        ticket(7, deleted=True),
    ]  # fmt: skip
    kinds = TimeKind
    time_entries = [
        TimeEntry(1, 1, kinds.TICKET, 1, 2, at("2025-10-06", 10), date(2025, 10, 6), 1.5, 1.25,
                  updated),
        TimeEntry(2, 1, kinds.INTERNAL, None, None, at("2025-10-06", 14), date(2025, 10, 6), 2.0,
                  0.0, updated),
        TimeEntry(3, 2, kinds.PROJECT, None, 3, at("2025-10-07", 9), date(2025, 10, 7), 3.0, 0.0,
                  updated),
    ]  # fmt: skip
    base_fee = "Managed services base fee"
    agreements = [
        Agreement(
            1, 3, "Birch Law - Managed Services", BillingCycle.MONTHLY, date(2024, 6, 1),
            ends_on=date(2025, 5, 31), cancelled_on=None, updated_at=updated,
            lines=[RevenueLine(1, base_fee, 1, Decimal("500.00"), date(2024, 6, 1))],
        ),
        # Quarterly: 300 + 2 x 30 = 360 a quarter (120 a month); 10 x 15 = 150 a quarter
        # (50 a month) from 15 March until 1 May; cancelled on 31 July.
        Agreement(
            2, 2, "Acme Dental - Managed Services", BillingCycle.QUARTERLY, date(2025, 1, 1),
            ends_on=None, cancelled_on=date(2025, 7, 31), updated_at=updated,
            lines=[
                RevenueLine(2, base_fee, 1, Decimal("300.00"), date(2025, 1, 1)),
                RevenueLine(3, "Per-user support", 10, Decimal("15.00"), date(2025, 3, 15),
                            date(2025, 5, 1)),
                RevenueLine(4, "Server backup & DR", 2, Decimal("30.00"), date(2025, 1, 1)),
            ],
        ),
    ]  # fmt: skip
    survey_results = [
        SurveyResult(1, 1, 2, at("2025-10-08", 8), 4, at("2025-10-08", 8)),
        SurveyResult(2, 4, 2, None, None, at("2025-10-08", 9)),
    ]
    return SandboxWorld(
        seed=0,
        msp_name="Northwind IT",
        clients=clients,
        technicians=technicians,
        priorities=priorities,
        boards=["Service Desk", "Projects Support"],
        slas=slas,
        tickets=tickets,
        time_entries=time_entries,
        agreements=agreements,
        survey_results=survey_results,
        generated_at=NOW,
    )


def shift_ids(world: SandboxWorld, *, tickets_from: int, time_entries_from: int) -> SandboxWorld:
    """Renumber tickets and time entries to start where a long-lived PSA's ids do (184,001,
    559,001), keeping every reference between them."""
    ticket_shift = tickets_from - min(t.id for t in world.tickets)
    entry_shift = time_entries_from - min(e.id for e in world.time_entries)
    for ticket in world.tickets:
        ticket.id += ticket_shift
        ticket.number = str(ticket.id)
        if ticket.merged_into is not None:
            ticket.merged_into += ticket_shift
    for entry in world.time_entries:
        entry.id += entry_shift
        if entry.ticket_id is not None:
            entry.ticket_id += ticket_shift
    for result in world.survey_results:
        result.ticket_id += ticket_shift
    return world


def simulator_for(world: SandboxWorld, **options: Any) -> ConnectWiseSimulator:
    credentials: dict[str, Any] = dict(
        company_id=COMPANY, public_key=PUBLIC_KEY, private_key=PRIVATE_KEY, client_id=CLIENT_ID
    )
    return create_connectwise_simulator(world, **(credentials | options))


class SleepRecorder:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


ConnectorFactory = Callable[..., ConnectWiseConnector]


def make_connector(
    simulator: ConnectWiseSimulator,
    *,
    now: datetime = NOW,
    concurrency: int = 4,
    sleep: SleepRecorder | None = None,
    lookback: timedelta = timedelta(minutes=5),
    reporting_tz: Any = None,
    **config: Any,
) -> ConnectWiseConnector:
    settings: dict[str, Any] = dict(
        base_url="http://cw.test",
        company_id=COMPANY,
        public_key=PUBLIC_KEY,
        private_key=PRIVATE_KEY,
        client_id=CLIENT_ID,
        concurrency=concurrency,
    )
    settings.update(config)
    context_args: dict[str, Any] = dict(
        transport=httpx.ASGITransport(app=simulator),
        limits=SourceHttpLimits(max_concurrency=concurrency, retry=RetryPolicy(base_delay=0.0)),
        lookback=lookback,
        now=now,
    )
    if reporting_tz is not None:
        context_args["reporting_tz"] = reporting_tz
    return ConnectWiseConnector(
        ConnectWiseConfig(**settings),
        ConnectorContext(**context_args),
        sleep=sleep or SleepRecorder(),
    )
