"""How much a period's value can be trusted: the sample behind it, and for proportions a
Wilson score interval (docs/goals.md §2.4, "Small samples").

SLA response and resolution met, and satisfied clients, are shares of independent events
(tickets decided, survey responses): with 9 tickets, 5 met reads 55.6 % but the true rate
could be anywhere from about 30 % to 78 %. Average satisfaction is a mean score between 0
and 1, and takes the same interval on its mean as an approximation (a bounded mean varies
no more than a proportion does). Utilisation is hours ÷ capacity, not a count of events:
its sample is shown, no interval is applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The interval's level, and its normal quantile (two-sided 90 %: z = 1.6449).
EVIDENCE_LEVEL = 0.90
Z_90 = 1.6448536269514722
# Below this many events a sample is called small in the explanation, whatever it shows.
SMALL_SAMPLE = 30

PROPORTION_KPIS = frozenset({"sla_response_pct", "sla_resolution_pct", "csat_pct", "csat_avg"})
# What a value's sample counts, for the KPIs whose value is a ratio or a mean (a count's
# sample is the count itself, and is not repeated in words).
SAMPLE_NOUNS = {
    "sla_response_pct": "tickets",
    "sla_resolution_pct": "tickets",
    "avg_response_hours": "tickets",
    "avg_resolution_hours": "tickets",
    "csat_pct": "survey responses",
    "csat_avg": "survey responses",
    "hours_logged": "time entries",
    "utilization_pct": "technicians",
    "billable_utilization_pct": "technicians",
}


@dataclass(frozen=True, slots=True)
class Interval:
    """A 90 % Wilson score interval, in the KPI's own unit (percent)."""

    low: float
    high: float
    level: float = EVIDENCE_LEVEL


def wilson(share: float, n: int, z: float = Z_90) -> tuple[float, float]:
    """The Wilson score interval of a proportion `share` (0–1) observed over `n` events:

        centre = (p + z²/2n) ÷ (1 + z²/n)
        half   = z ÷ (1 + z²/n) × √(p(1 − p)/n + z²/4n²)

    It stays within 0–1 and behaves at 0 % and 100 %, unlike the normal approximation."""
    if n <= 0:
        return 0.0, 1.0
    p = min(1.0, max(0.0, share))
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_interval(kpi_key: str, value: float, n: int) -> Interval | None:
    """The interval of a percentage KPI's value over `n` events; None for other KPIs."""
    if kpi_key not in PROPORTION_KPIS or n <= 0:
        return None
    low, high = wilson(value / 100.0, n)
    return Interval(100.0 * low, 100.0 * high)


def sample_words(kpi_key: str, n: int) -> str:
    """'on 212 tickets', 'on only 9 tickets' (small samples say so); '' when not counted."""
    noun = SAMPLE_NOUNS.get(kpi_key)
    if noun is None or n <= 0:
        return ""
    if n == 1:
        noun = noun.removesuffix("s")
    if kpi_key in PROPORTION_KPIS and n < SMALL_SAMPLE:
        return f"on only {n:,} {noun}, a small sample"
    return f"on {n:,} {noun}"
