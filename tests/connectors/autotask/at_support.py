"""Support for the Autotask connector tests: a hand-made world checked by hand, the
simulator's credentials, connectors wired to it through an ASGI transport, a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from leak_guard import KNOWN_SECRETS

from connectors.autotask import AutotaskConfig, AutotaskConnector
from connectors.autotask.simulator import AutotaskSimulator, create_autotask_simulator
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
from connectors.sdk import ConnectorContext, SourceHttpLimits

SIM_SECRET = "at-sim-secret-5e1d77"
SIM_CODE = "AT-SIM-CODE-0c4b92"
SIM_USER = "api-northstar@msp.example"
KNOWN_SECRETS.update({SIM_SECRET, SIM_CODE})

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def tiny_world() -> SandboxWorld:
    """A world small enough to check every fact by hand."""
    clients = [
        Client(1, "Northwind IT", True, at(0), is_msp_itself=True),
        Client(2, "Acme Dental", True, at(1)),
        Client(3, "Harbor Logistics", False, at(2)),
    ]
    technicians = [
        Technician(1, "Alice", "Morgan", "alice@msp.example", True, True, None, at(0)),
        Technician(
            2, "Ben", "Okafor", "ben@msp.example", True, True, (6.0,) * 5 + (0.0, 0.0), at(0)
        ),
        Technician(3, "Chloe", "Reyes", "chloe@msp.example", True, False, (0.0,) * 7, at(0)),
        Technician(
            4, "Integration", "API", "api@msp.example", True, False, None, at(0), is_api_user=True
        ),
    ]
    priorities = [Priority(level, sort) for level, sort in enumerate((2, 4, 6, 8, 9), 1)]
    slas = [Sla(1, "Standard", SlaTarget(4.0, 16.0))]
    tickets = [
        Ticket(
            id=10,  # closed, SLA row with an older contradicting row (id % 5 == 0)
            number="T20250303.0001",
            title="Outlook keeps asking for a password",
            client_id=2,
            board="Service Desk",
            state=TicketState.CLOSED,
            priority_level=1,
            assignee_id=1,
            created_at=at(0),
            updated_at=at(5),
            sla_id=1,
            first_response_at=at(0.5),
            resolved_at=at(4),
            closed_at=at(5),
            response_met=True,
            resolution_met=False,
        ),
        Ticket(
            id=20,  # waiting, no SLA; rendered with an inactive status (WAITING, id % 10 == 0)
            number="T20250303.0002",
            title="New starter laptop",
            client_id=2,
            board="Escalations",
            state=TicketState.WAITING,
            priority_level=5,
            assignee_id=2,
            created_at=at(1),
            updated_at=at(2),
        ),
        Ticket(
            id=13,  # SLA but no result row: actual vs due decides (id % 13 == 0)
            number="T20250303.0003",
            title="Printer offline",
            client_id=3,
            board="Service Desk",
            state=TicketState.RESOLVED,
            priority_level=3,
            assignee_id=None,
            created_at=at(2),
            updated_at=at(6),
            sla_id=1,
            first_response_at=at(3),
            resolved_at=at(6),
            response_met=True,
            resolution_met=False,
        ),
        Ticket(
            id=14,  # deleted
            number="T20250303.0004",
            title="Spam",
            client_id=2,
            board="Service Desk",
            state=TicketState.NEW,
            priority_level=4,
            assignee_id=None,
            created_at=at(3),
            updated_at=at(7),
            deleted=True,
        ),
    ]
    entries = [
        TimeEntry(1, 1, TimeKind.TICKET, 10, 2, at(1), T0.date(), 1.5, 1.5, at(2)),
        TimeEntry(2, 2, TimeKind.TICKET, 20, 2, at(2), T0.date(), 0.5, 0.0, at(3)),
        TimeEntry(3, 2, TimeKind.PROJECT, None, 3, at(3), T0.date(), 2.0, 1.0, at(4)),
        TimeEntry(4, 1, TimeKind.INTERNAL, None, None, at(4), T0.date(), 1.0, 0.0, at(5)),
        TimeEntry(5, 1, TimeKind.TICKET, 14, 2, at(5), T0.date(), 0.25, 0.25, at(6)),
    ]
    agreements = [
        Agreement(
            id=1,
            client_id=2,
            name="Acme Dental - Managed Services",
            cycle=BillingCycle.QUARTERLY,
            starts_on=date(2025, 1, 1),
            ends_on=None,
            cancelled_on=date(2025, 7, 1),
            lines=[
                RevenueLine(1, "Base fee", 1, Decimal("900.00"), date(2025, 1, 1)),
                RevenueLine(2, "Seats", 10, Decimal("30.00"), date(2025, 2, 15)),
            ],
            updated_at=at(0),
        ),
    ]
    surveys = [
        SurveyResult(1, 10, 2, at(6), 4, at(6)),
        SurveyResult(2, 20, 2, None, None, at(3)),
    ]
    return SandboxWorld(
        seed=0,
        msp_name="Northwind IT",
        clients=clients,
        technicians=technicians,
        priorities=priorities,
        boards=["Service Desk", "Escalations"],
        slas=slas,
        tickets=tickets,
        time_entries=entries,
        agreements=agreements,
        survey_results=surveys,
        generated_at=datetime(2025, 3, 4, tzinfo=UTC),
    )


def simulator_for(world: SandboxWorld, **options: Any) -> AutotaskSimulator:
    return create_autotask_simulator(
        world, username=SIM_USER, secret=SIM_SECRET, integration_code=SIM_CODE, **options
    )


def config_for(**overrides: Any) -> AutotaskConfig:
    values: dict[str, Any] = {
        "api_username": SIM_USER,
        "secret": SIM_SECRET,
        "integration_code": SIM_CODE,
        **overrides,
    }
    return AutotaskConfig(**values)


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def connector_for(
    simulator: AutotaskSimulator,
    *,
    limits: SourceHttpLimits | None = None,
    sleep: Callable[[float], Any] | None = None,
    now: datetime | None = None,
    lookback: timedelta = timedelta(minutes=5),
    **config: Any,
) -> AutotaskConnector:
    cfg = config_for(**config)
    context = ConnectorContext(
        transport=httpx.ASGITransport(app=simulator),
        limits=limits or AutotaskConnector.http_limits(cfg),
        now=now,
        lookback=lookback,
    )
    return AutotaskConnector(cfg, context, sleep=sleep)
