"""Lookups into a world by id, and the monthly amount of an agreement on a day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from connectors.sandbox.model import (
    CYCLE_MONTHS,
    Agreement,
    Client,
    Priority,
    SandboxWorld,
    Sla,
    SurveyResult,
    Technician,
    Ticket,
    TimeEntry,
)

_ZERO = Decimal("0.00")


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


_Record = TypeVar("_Record", bound=_HasId)


class _ById(Generic[_Record]):
    """A dict over one of the world's lists, extended when the list grows.

    Records change in place and are only ever appended (never removed or replaced), so
    indexing the new tail keeps the dict valid after `mutate_world`.
    """

    __slots__ = ("_by_id", "_records", "_seen")

    def __init__(self, records: list[_Record]) -> None:
        self._records = records
        self._by_id: dict[int, _Record] = {}
        self._seen = 0  # how many records of the list are in the dict

    def get(self, record_id: int) -> _Record | None:
        if self._seen != len(self._records):
            for record in self._records[self._seen :]:
                self._by_id[record.id] = record
            self._seen = len(self._records)
        return self._by_id.get(record_id)

    def __getitem__(self, record_id: int) -> _Record:
        record = self.get(record_id)
        if record is None:
            raise KeyError(record_id)
        return record


class WorldIndex:
    """Id lookups for the simulators: `index.tickets[42]`, `index.ticket(42)`, ...

    Build one per world and keep it: it follows records appended by `mutate_world`.
    `[...]` raises KeyError for an unknown id; the methods return None.
    """

    __slots__ = (
        "agreements",
        "clients",
        "priorities",
        "slas",
        "survey_results",
        "technicians",
        "tickets",
        "time_entries",
        "world",
    )

    def __init__(self, world: SandboxWorld) -> None:
        self.world = world
        self.clients = _ById[Client](world.clients)
        self.technicians = _ById[Technician](world.technicians)
        self.slas = _ById[Sla](world.slas)
        self.tickets = _ById[Ticket](world.tickets)
        self.time_entries = _ById[TimeEntry](world.time_entries)
        self.agreements = _ById[Agreement](world.agreements)
        self.survey_results = _ById[SurveyResult](world.survey_results)
        self.priorities = {priority.level: priority for priority in world.priorities}

    def ticket(self, ticket_id: int) -> Ticket | None:
        return self.tickets.get(ticket_id)

    def technician(self, technician_id: int) -> Technician | None:
        return self.technicians.get(technician_id)

    def client(self, client_id: int) -> Client | None:
        return self.clients.get(client_id)

    def sla(self, sla_id: int) -> Sla | None:
        return self.slas.get(sla_id)

    def priority(self, level: int) -> Priority | None:
        return self.priorities.get(level)

    def msp_client(self) -> Client:
        """The MSP's own company (time charged to it is internal)."""
        return next(client for client in self.world.clients if client.is_msp_itself)


def in_force(agreement: Agreement, day: date) -> bool:
    """Whether the agreement counts on `day` (model.Agreement: ends_on inclusive,
    cancelled_on the first day no longer in force)."""
    return (
        agreement.starts_on <= day
        and (agreement.ends_on is None or day <= agreement.ends_on)
        and (agreement.cancelled_on is None or day < agreement.cancelled_on)
    )


def monthly_amount_on(agreement: Agreement, day: date) -> Decimal:
    """The agreement's monthly recurring amount on `day`.

    0 when the agreement is not in force; otherwise Σ over lines with
    `starts_on ≤ day < ends_on` (None: open-ended) of price_per_cycle ÷ the cycle's months.
    A deleted agreement still answers by its dates: whether it counts is the caller's rule.
    """
    if not in_force(agreement, day):
        return _ZERO
    per_cycle = sum(
        (
            line.price_per_cycle
            for line in agreement.lines
            if line.starts_on <= day and (line.ends_on is None or day < line.ends_on)
        ),
        _ZERO,
    )
    return per_cycle / CYCLE_MONTHS[agreement.cycle]
