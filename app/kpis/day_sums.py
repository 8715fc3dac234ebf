"""What the facts of a run of local days add to the daily rollups.

Every fact contributes to a few measures on one local day, once per dimension it belongs
to: `all`, its client, its technician, its board, its priority level and its priority.
Each kind of contribution is declared below as one query (`CONTRIBUTIONS`): the database
works out the local day, the durations and the 0/1 flags, and Python only adds the values
up per day and dimension.

Board, priority level and priority take few values, so they are summed together first
(one key per day and combination) and split into their dimensions at the end; a fact
then costs three dictionary updates, not six. The pairs of scopes (`app.kpis.pairs`) are
summed the same way: per (day, client, board, level), (day, technician, board, level) and
(day, client, technician), split into their pairs at the end (board and priority come from
the combinations above): three more updates a fact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cached_property
from operator import add, itemgetter
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from app.facts.models import SurveyResponseRow, TechnicianRow, TicketRow, TimeEntryRow
from app.kpis.models import MEASURES
from app.kpis.pairs import PAIR_NAMES
from app.kpis.sql_time import (
    OffsetSegment,
    hours_between,
    local_date,
    offset_segments,
    utc_bounds,
)

CSAT_SATISFIED = 0.75
FETCH_BATCH = 5000


@dataclass(frozen=True)
class Window:
    """The run of local days being aggregated, as the queries need it."""

    source_id: int
    first: date
    last: date
    tz: tzinfo
    dialect: str

    @cached_property
    def bounds(self) -> tuple[datetime, datetime]:
        """UTC instants where `first` begins and the day after `last` begins."""
        return utc_bounds(self.first, self.last, self.tz)

    @cached_property
    def offsets(self) -> list[OffsetSegment]:
        return offset_segments(*self.bounds, self.tz)

    def local_date(self, column: Any) -> Any:
        return local_date(column, self.offsets, self.dialect)

    def holds(self, column: Any) -> Any:
        start, end = self.bounds
        return and_(column >= start, column < end)


@dataclass(frozen=True)
class Contribution:
    """One kind of contribution: a query whose rows are
    (day, client, technician, board, priority level, priority, *values of `measures`)."""

    measures: tuple[str, ...]
    query: Callable[[Window], Select[Any]]


def _flag(condition: Any) -> Any:
    return case((condition, 1.0), else_=0.0)


def _ticket_event(event: Any, *values: Any) -> Callable[[Window], Select[Any]]:
    """Tickets with `event` in the window, dated by it and scoped by the ticket."""

    def query(window: Window) -> Select[Any]:
        return select(
            window.local_date(event),
            TicketRow.client_external_id,
            TicketRow.assignee_external_id,
            TicketRow.board,
            TicketRow.priority_level,
            TicketRow.priority,
            *values,
        ).where(TicketRow.source_id == window.source_id, window.holds(event))

    return query


def _response(event: Any, met: Any) -> Callable[[Window], Select[Any]]:
    """Tickets first responded to (or resolved) in the window: one response, its hours
    since creation, and whether its SLA target was decided and met."""

    def query(window: Window) -> Select[Any]:
        hours = hours_between(TicketRow.created_at, event, window.dialect)
        decided, was_met = _flag(met.is_not(None)), _flag(met.is_(True))
        return _ticket_event(event, literal(1.0), hours, decided, was_met)(window)

    return query


def _its_ticket(fact: Any) -> tuple[Any, Any]:
    """The ticket a time entry or survey response belongs to, and the join condition."""
    ticket = aliased(TicketRow)
    joined = and_(ticket.source_id == fact.source_id, ticket.external_id == fact.ticket_external_id)
    return ticket, joined


def _time_entries(window: Window) -> Select[Any]:
    """Time, dated by work date and scoped by its own client and technician; board and
    priority come through its ticket. Utilisation numerators count only technicians counted
    for utilisation (docs/kpis.md §4.2); a change of that flag marks their days dirty."""
    entry = TimeEntryRow
    ticket, on_ticket = _its_ticket(entry)
    counted = TechnicianRow.included_in_utilization.is_(True)
    return (
        select(
            entry.work_date,
            entry.client_external_id,
            entry.technician_external_id,
            ticket.board,
            ticket.priority_level,
            ticket.priority,
            literal(1.0),
            entry.hours,
            case((and_(counted, entry.counts_toward_utilization), entry.hours), else_=0.0),
            case((counted, entry.billable_hours), else_=0.0),
            case((entry.client_external_id.is_not(None), entry.hours), else_=0.0),
        )
        .select_from(entry)
        .outerjoin(
            TechnicianRow,
            and_(
                TechnicianRow.source_id == entry.source_id,
                TechnicianRow.external_id == entry.technician_external_id,
            ),
        )
        .outerjoin(ticket, on_ticket)
        .where(
            entry.source_id == window.source_id,
            entry.work_date >= window.first,
            entry.work_date <= window.last,
        )
    )


def _survey_responses(window: Window) -> Select[Any]:
    """Responses, dated by completion; board and priority come through the ticket.

    The technician is the ticket's current assignee (docs/kpis.md §2), none if it has none: a
    reassignment moves the survey without the PSA re-sending it. Only a survey whose ticket
    is not stored keeps the technician its connector gave it."""
    survey = SurveyResponseRow
    ticket, on_ticket = _its_ticket(survey)
    technician = case(
        (ticket.external_id.is_(None), survey.technician_external_id),
        else_=func.nullif(ticket.assignee_external_id, ""),
    )
    return (
        select(
            window.local_date(survey.completed_at),
            survey.client_external_id,
            technician,
            ticket.board,
            ticket.priority_level,
            ticket.priority,
            literal(1.0),
            _flag(survey.score >= CSAT_SATISFIED),
            survey.score,
        )
        .select_from(survey)
        .outerjoin(ticket, on_ticket)
        .where(survey.source_id == window.source_id, window.holds(survey.completed_at))
    )


CONTRIBUTIONS = (
    Contribution(("tickets_created",), _ticket_event(TicketRow.created_at, literal(1.0))),
    Contribution(("tickets_closed",), _ticket_event(TicketRow.closed_at, literal(1.0))),
    Contribution(
        ("response_count", "response_hours_sum", "response_decided", "response_met"),
        _response(TicketRow.first_response_at, TicketRow.response_met),
    ),
    Contribution(
        ("resolution_count", "resolution_hours_sum", "resolution_decided", "resolution_met"),
        _response(TicketRow.resolved_at, TicketRow.resolution_met),
    ),
    Contribution(
        ("time_entries", "hours", "utilization_hours", "billable_hours", "client_hours"),
        _time_entries,
    ),
    Contribution(("csat_count", "csat_good", "csat_score_sum"), _survey_responses),
)


ROLLUP_COLUMNS = ("source_id", "day", "dim", "dim_value", *MEASURES)
PAIR_COLUMNS = ("source_id", "day", "pair", "first_value", "second_value", *MEASURES)
FIRST_MEASURE = ROLLUP_COLUMNS.index(MEASURES[0])
FIRST_PAIR_MEASURE = PAIR_COLUMNS.index(MEASURES[0])
_by_key = itemgetter(1, 2, 3)
_by_pair_key = itemgetter(1, 2, 3, 4)
# The pairs split out of the combinations kept below (`app.kpis.pairs` declares them).
CLIENT_TECHNICIAN, CLIENT_BOARD, CLIENT_LEVEL = (
    "client+technician",
    "client+board",
    "client+priority_level",
)
TECHNICIAN_BOARD, TECHNICIAN_LEVEL, BOARD_LEVEL = (
    "technician+board",
    "technician+priority_level",
    "board+priority_level",
)
_SPLIT = (CLIENT_TECHNICIAN, CLIENT_BOARD, CLIENT_LEVEL, TECHNICIAN_BOARD, TECHNICIAN_LEVEL)
assert set(PAIR_NAMES) == {*_SPLIT, BOARD_LEVEL}, "every declared pair is summed here"


def _add_into(
    merged: dict[Any, list[Any]], key: tuple[Any, ...], measures: list[Any], width: int
) -> None:
    """Add `measures` (the tail of an accumulated row) to the row `key` of `merged`, made
    as `[source, *key, *measures]`: `width` is where its measures begin."""
    known = merged.get(key)
    if known is None:
        merged[key] = [None, *key, *measures]
    else:
        known[width:] = map(add, known[width:], measures)


class DaySums:
    """The rollup rows of a run of days: lists in `ROLLUP_COLUMNS` order, one per
    (day, dimension, value), built up as the facts' contributions are added."""

    def __init__(self, source_id: int) -> None:
        self.source_id = source_id
        self.by_client: dict[tuple[Any, str], list[Any]] = {}
        self.by_technician: dict[tuple[Any, str], list[Any]] = {}
        # (day, board, priority level, priority): few combinations a day, split later.
        self.by_scope: dict[tuple[Any, Any, Any, Any], list[Any]] = {}
        # For the pairs: (day, client or technician, board, level), (day, client, technician).
        self.client_scope: dict[tuple[Any, Any, Any, Any], list[Any]] = {}
        self.technician_scope: dict[tuple[Any, Any, Any, Any], list[Any]] = {}
        self.client_technician: dict[tuple[Any, Any, Any], list[Any]] = {}

    def _new_row(self, day: Any, dim: str, value: str) -> list[Any]:
        return [self.source_id, day, dim, value, *([0.0] * len(MEASURES))]

    def add_rows(self, measures: tuple[str, ...], rows: Iterable[Any]) -> None:
        """Add query rows (day, client, technician, board, level, priority, *values);
        the values go to `measures`, in that order."""
        columns = tuple(enumerate((ROLLUP_COLUMNS.index(name) for name in measures), start=6))
        by_client, by_technician, by_scope = self.by_client, self.by_technician, self.by_scope
        client_scope, technician_scope = self.client_scope, self.technician_scope
        client_technician = self.client_technician
        new_row = self._new_row
        for row in rows:
            day, client, technician = row[0], row[1], row[2]
            targets = []
            if client:
                target = by_client.get((day, client))
                if target is None:
                    target = by_client[(day, client)] = new_row(day, "client", client)
                targets.append(target)
                key = (day, client, row[3], row[4])
                target = client_scope.get(key)
                if target is None:
                    target = client_scope[key] = new_row(day, "", "")
                targets.append(target)
            if technician:
                target = by_technician.get((day, technician))
                if target is None:
                    target = by_technician[(day, technician)] = new_row(
                        day, "technician", technician
                    )
                targets.append(target)
                key = (day, technician, row[3], row[4])
                target = technician_scope.get(key)
                if target is None:
                    target = technician_scope[key] = new_row(day, "", "")
                targets.append(target)
                if client:
                    pair = (day, client, technician)
                    target = client_technician.get(pair)
                    if target is None:
                        target = client_technician[pair] = new_row(day, "", "")
                    targets.append(target)
            scope = (day, row[3], row[4], row[5])
            target = by_scope.get(scope)
            if target is None:
                target = by_scope[scope] = new_row(day, "", "")
            targets.append(target)
            for column, position in columns:
                value = row[column]
                if value:
                    for target in targets:
                        target[position] += value

    def rows(self) -> list[list[Any]]:
        """Every rollup row, in (day, dim, value) order."""
        merged: dict[tuple[Any, str, str], list[Any]] = {}
        for (day, *scope), measures in self.by_scope.items():
            board, level, priority = scope
            keys = [(day, "all", "")]
            if board:
                keys.append((day, "board", board))
            if level is not None:
                keys.append((day, "priority_level", str(level)))
            if priority:
                keys.append((day, "priority", priority))
            for key in keys:
                known = merged.get(key)
                if known is None:
                    merged[key] = [self.source_id, *key, *measures[FIRST_MEASURE:]]
                else:
                    known[FIRST_MEASURE:] = map(
                        add, known[FIRST_MEASURE:], measures[FIRST_MEASURE:]
                    )
        return sorted(
            [*merged.values(), *self.by_client.values(), *self.by_technician.values()],
            key=_by_key,
        )

    def pair_rows(self) -> list[list[Any]]:
        """Every pair rollup row (`PAIR_COLUMNS` order), in (day, pair, values) order. A
        pair member takes the values its one-scope rows take: a board and a priority level
        when the fact has them."""
        merged: dict[tuple[Any, ...], list[Any]] = {}

        def add_to(day: Any, pair: str, first: Any, second: Any, row: list[Any]) -> None:
            _add_into(merged, (day, pair, first, second), row[FIRST_MEASURE:], FIRST_PAIR_MEASURE)

        for (day, client, technician), row in self.client_technician.items():
            add_to(day, CLIENT_TECHNICIAN, client, technician, row)
        for sums, by_board, by_level in (
            (self.client_scope, CLIENT_BOARD, CLIENT_LEVEL),
            (self.technician_scope, TECHNICIAN_BOARD, TECHNICIAN_LEVEL),
        ):
            for (day, member, board, level), row in sums.items():
                if board:
                    add_to(day, by_board, member, board, row)
                if level is not None:
                    add_to(day, by_level, member, str(level), row)
        for (day, board, level, _), row in self.by_scope.items():
            if board and level is not None:
                add_to(day, BOARD_LEVEL, board, str(level), row)
        rows = sorted(merged.values(), key=_by_pair_key)
        for row in rows:
            row[0] = self.source_id
        return rows


def sum_days(session: Session, window: Window) -> DaySums:
    """Everything the facts of `window` add to its days."""
    sums = DaySums(window.source_id)
    connection = session.connection()
    for contribution in CONTRIBUTIONS:
        result = connection.execute(contribution.query(window))
        try:
            # The driver's own values, without SQLAlchemy's per-row conversion: the day
            # stays the driver's date (text on SQLite), which is also what it writes back.
            # Read in batches: a month of time entries at once would double the memory.
            while batch := result.cursor.fetchmany(FETCH_BATCH):
                sums.add_rows(contribution.measures, batch)
        finally:
            result.close()
    return sums
