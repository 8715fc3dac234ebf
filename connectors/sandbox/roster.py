"""Who takes part in the world's activity, and when: the generators' shared cast.

The model keeps no hire, leave or churn dates (KPIS v1 keeps no such history), yet a
believable world needs them: a technician who left in May logs no time in June, a client
that churned opens no tickets afterwards. `Span`s carry those dates for generation only.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from random import Random

from connectors.sandbox.model import SlaTarget

FOREVER = 2**62


@dataclass(frozen=True, slots=True)
class Span:
    """An entity taking part in `[since, until)` (ts), drawn with relative `weight`."""

    id: int
    weight: float
    since: int = 0
    until: int = FOREVER

    def active_at(self, ts: int) -> bool:
        return self.since <= ts < self.until


class TimedPicker:
    """Draws an id among the spans active at a moment, proportionally to their weights.

    The timeline is cut at every span boundary into segments with precomputed cumulative
    weights, so a draw is two bisections (generation makes hundreds of thousands of them).
    Spans with weight 0 are never drawn.
    """

    __slots__ = ("_bounds", "_segments")

    def __init__(self, spans: list[Span]) -> None:
        drawable = [span for span in spans if span.weight > 0]
        self._bounds = sorted({0} | {s.since for s in drawable} | {s.until for s in drawable})
        self._segments: list[tuple[list[int], list[float]]] = []
        for lower in self._bounds:
            members = [span for span in drawable if span.active_at(lower)]
            cumulative = list(accumulate(span.weight for span in members))
            self._segments.append(([span.id for span in members], cumulative))

    def pick(self, rng: Random, ts: int) -> int | None:
        """A weighted draw among the spans active at `ts`; None when none is."""
        ids, cumulative = self._segments[bisect_right(self._bounds, ts) - 1]
        if not ids:
            return None
        index = bisect_right(cumulative, rng.random() * cumulative[-1])
        return ids[min(index, len(ids) - 1)]


@dataclass(slots=True)
class Roster:
    """The generation context shared by the ticket, time and agreement generators."""

    start_ts: int
    end_ts: int  # also the world's generated_at: nothing happens at or after it
    client_spans: dict[int, Span]  # client companies only (never the MSP itself)
    tech_spans: dict[int, Span]  # technicians who work tickets and log time
    clients: TimedPicker
    technicians: TimedPicker
    client_sla: dict[int, int | None]  # each client's SLA id (None: no SLA)
    sla_targets: dict[tuple[int, int], SlaTarget] = field(default_factory=dict)
