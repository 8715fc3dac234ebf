"""Every table, imported in one place so Alembic and `create_all` see the whole schema."""

from app.alerts.models import AlertChannel, AlertDelivery, AlertEvent, AlertRule
from app.db import Base
from app.directory.models import EntityLink, LinkDecision, LinkedEntity
from app.facts.models import (
    ClientRow,
    ObservationRow,
    RecurringAmountRow,
    RecurringRevenueRow,
    SurveyResponseRow,
    TechnicianRow,
    TicketRow,
    TimeEntryRow,
)
from app.goals.models import (
    AlignmentSnapshot,
    CheckIn,
    Goal,
    Milestone,
    Objective,
    PlanChange,
    Story,
)
from app.ingest.models import SweepSeenId, SyncCursor, SyncRun
from app.kpis.models import (
    KpiDailyPairRollup,
    KpiDailyRollup,
    KpiDirtyDay,
    KpiMonthlyPairRollup,
    KpiMonthlyRollup,
    KpiRebuildPending,
    ManualKpi,
)
from app.people.models import User, WebSession
from app.push.models import PushChannel, PushNoticeRow
from app.security.models import ApiKey
from app.sources.budget_ledger import RequestBooking
from app.sources.models import Source
from app.sources.tenant_book import TenantUsageRow

metadata = Base.metadata

__all__ = [
    "AlertChannel",
    "AlertDelivery",
    "AlertEvent",
    "AlertRule",
    "AlignmentSnapshot",
    "ApiKey",
    "CheckIn",
    "ClientRow",
    "EntityLink",
    "Goal",
    "KpiDailyPairRollup",
    "KpiDailyRollup",
    "KpiDirtyDay",
    "KpiMonthlyPairRollup",
    "KpiMonthlyRollup",
    "KpiRebuildPending",
    "LinkDecision",
    "LinkedEntity",
    "ManualKpi",
    "Milestone",
    "Objective",
    "ObservationRow",
    "PlanChange",
    "PushChannel",
    "PushNoticeRow",
    "RecurringAmountRow",
    "RecurringRevenueRow",
    "RequestBooking",
    "Source",
    "Story",
    "SurveyResponseRow",
    "SweepSeenId",
    "SyncCursor",
    "SyncRun",
    "TechnicianRow",
    "TenantUsageRow",
    "TicketRow",
    "TimeEntryRow",
    "User",
    "WebSession",
    "metadata",
]
