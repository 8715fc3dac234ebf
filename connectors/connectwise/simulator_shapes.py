"""ConnectWise record shapes shared by the simulator's renderers, and the fixed setup tables
(priorities, board statuses, SLAs with their per-priority rows) rendered from a world."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.connectwise.simulator_catalog import (
    PRIORITY_ID_BASE,
    PRIORITY_NAMES,
    STATUS_NAMES,
    STATUS_ORDER,
)
from connectors.connectwise.simulator_collections import Json
from connectors.sandbox.index import WorldIndex
from connectors.sandbox.model import Agreement, Client, SandboxWorld, Technician, TicketState

HREF_ROOT = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"


def stamp(moment: datetime) -> str:
    """`2025-03-04T16:20:11Z` (UTC, no fractions)."""
    return moment.isoformat()[:19] + "Z"


def day_stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def href(kind: str, path: str) -> Json:
    return {f"{kind}_href": f"{HREF_ROOT}{path}"}


def compact(record: Json) -> Json:
    """Drop null-valued properties, as ConnectWise does."""
    return {key: value for key, value in record.items() if value is not None}


def member_identifier(technician: Technician) -> str:
    return (technician.first_name[:1] + technician.last_name).lower().replace(" ", "")


def company_identifier(client: Client) -> str:
    return "".join(ch for ch in client.name.title() if ch.isalnum())[:30]


def split_base_fee(agreement: Agreement) -> tuple[Decimal, list[Any]]:
    """The base fee (`billAmount`) and the lines rendered as additions.

    The first line is the base fee when it runs for the agreement's whole life; otherwise
    every line is an addition and `billAmount` is 0.
    """
    lines = list(agreement.lines)
    if lines and lines[0].starts_on <= agreement.starts_on and lines[0].ends_on is None:
        return lines[0].price_per_cycle, lines[1:]
    return Decimal(0), lines


def maybe(moment: datetime | None) -> str | None:
    return None if moment is None else stamp(moment)


def maybe_day(day: date | None) -> str | None:
    return None if day is None else day_stamp(day)


class SetupRenderer:
    """The fixed tables of one world; `WorldRenderer` adds its entities."""

    def __init__(self, world: SandboxWorld) -> None:
        self.world = world
        self.index = WorldIndex(world)
        self.boards = [
            {"id": number, "name": name, "inactiveFlag": False, "projectFlag": False}
            for number, name in enumerate(world.boards, start=1)
        ]
        self.board_ids: dict[str, int] = {
            name: number for number, name in enumerate(world.boards, start=1)
        }

    def priority_id(self, level: int) -> int:
        return PRIORITY_ID_BASE - level

    def status_id(self, board_id: int, state: TicketState) -> int:
        return board_id * 10 + STATUS_ORDER.index(state) + 1

    def priorities(self) -> list[Json]:
        rows = [
            {
                "id": self.priority_id(p.level),
                "name": PRIORITY_NAMES.get(p.level, f"Priority {p.level}"),
                "sortOrder": p.sort_order,
                "defaultFlag": p.level == 3,
                "color": "Red" if p.level == 1 else "Blue",
                "_info": {"lastUpdated": stamp(self.world.generated_at)},
            }
            for p in self.world.priorities
        ]
        return sorted(rows, key=lambda row: row["id"])

    def board_statuses(self, board_id: int) -> list[Json]:
        board = next((b for b in self.boards if b["id"] == board_id), None)
        if board is None:
            return []
        return [
            {
                "id": self.status_id(board_id, state),
                "name": name,
                "board": {"id": board_id, "name": board["name"]},
                "sortOrder": position,
                "closedStatus": closed,
                "escalationStatus": "Resolved" if closed else "NotResponded",
            }
            for position, (state, (name, closed)) in enumerate(STATUS_NAMES.items())
        ]

    def slas(self) -> list[Json]:
        return [
            compact(
                {
                    "id": sla.id,
                    "name": sla.name,
                    "basedOn": "MyCalendar",
                    "respondHours": sla.default.response_hours,
                    "resolutionHours": sla.default.resolution_hours,
                    "_info": {"lastUpdated": stamp(self.world.generated_at)},
                }
            )
            for sla in self.world.slas
        ]

    def sla_priorities(self, sla_id: int) -> list[Json] | None:
        sla = self.index.sla(sla_id)
        if sla is None:
            return None
        return [
            compact(
                {
                    "id": sla_id * 100 + level,
                    "priority": {"id": self.priority_id(level), "name": PRIORITY_NAMES.get(level)},
                    "respondHours": target.response_hours,
                    "resolutionHours": target.resolution_hours,
                    "sla": {"id": sla_id, "name": sla.name},
                }
            )
            for level, target in sorted(sla.overrides.items())
        ]
