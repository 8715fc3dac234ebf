"""A PSA tenant's shared request limit, as last read, kept where every process sees it.

Autotask allows 10,000 requests per rolling hour for the whole tenant, shared by every
integration it has; when they are used up, every integration is refused until the hour
rolls on. What the PSA reports (or a refusal for that limit) is the *tenant's* state: it
says how busy the others are and whether anyone may ask now. It never counts towards the
source's own request budget, and it is read again soon after a refusal, so Northstar sees
the tenant recover within minutes rather than waiting out an hour of its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TenantUsage:
    """One reading of the tenant's usage (or a refusal, `limited_until` set)."""

    threshold: int  # requests the tenant may make per window, all integrations together
    used: int  # requests counted in the current window, all integrations together
    read_at: datetime  # UTC
    window_minutes: int = 60
    # The PSA refused a request for the tenant's limit: nobody may ask before this moment.
    limited_until: datetime | None = None

    @property
    def fraction(self) -> float:
        """How much of the tenant's limit is used, 0..1 (1 when it refused for the limit)."""
        if self.limited_until is not None or self.threshold <= 0:
            return 1.0
        return min(1.0, max(0.0, self.used / self.threshold))

    @property
    def headroom(self) -> int:
        """Requests the tenant had left when read."""
        if self.limited_until is not None:
            return 0
        return max(0, self.threshold - self.used)


class TenantUsageBook(Protocol):
    """Where a source's latest tenant reading is kept; the service keeps it in its database,
    so the scheduler and every command-line sync share one. May block briefly."""

    def latest(self) -> TenantUsage | None: ...

    def record(self, usage: TenantUsage) -> None: ...


class MemoryTenantBook:
    """A book for one process (tests, connectors used without the service)."""

    def __init__(self) -> None:
        self._latest: TenantUsage | None = None
        self._lock = threading.Lock()

    def latest(self) -> TenantUsage | None:
        with self._lock:
            return self._latest

    def record(self, usage: TenantUsage) -> None:
        with self._lock:
            self._latest = usage
