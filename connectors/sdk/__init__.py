"""The connector SDK: the contract, canonical facts, HTTP behaviour and paging helpers.

Vendor packages import from here and from nowhere else in Northstar.
"""

from connectors.sdk.contract import (
    Connector,
    ConnectorContext,
    Cursor,
    Page,
    Preparable,
    Record,
    StreamMode,
    StreamSpec,
    SyncInterval,
)
from connectors.sdk.errors import (
    AuthError,
    BudgetExhausted,
    ConfigError,
    ConnectorError,
    FatalError,
    RecordRejected,
    TenantLimitReached,
    TransientError,
)
from connectors.sdk.facts import (
    AmountPeriod,
    ClientFact,
    Deletion,
    Fact,
    FactOrDeletion,
    FactType,
    MatchedDeletion,
    RecurringRevenueFact,
    SurveyResponseFact,
    TechnicianFact,
    TicketFact,
    TimeEntryFact,
)
from connectors.sdk.http import (
    Action,
    RequestBudget,
    RetryPolicy,
    SourceHttpLimits,
    VendorClient,
)
from connectors.sdk.paging import id_ranges, keyset_pages
from connectors.sdk.tenant import MemoryTenantBook, TenantUsage, TenantUsageBook

__all__ = [
    "Action",
    "AmountPeriod",
    "AuthError",
    "BudgetExhausted",
    "ClientFact",
    "ConfigError",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "Cursor",
    "Deletion",
    "Fact",
    "FactOrDeletion",
    "FactType",
    "FatalError",
    "MatchedDeletion",
    "MemoryTenantBook",
    "Page",
    "Preparable",
    "Record",
    "RecordRejected",
    "RecurringRevenueFact",
    "RequestBudget",
    "RetryPolicy",
    "SourceHttpLimits",
    "StreamMode",
    "StreamSpec",
    "SurveyResponseFact",
    "SyncInterval",
    "TechnicianFact",
    "TenantLimitReached",
    "TenantUsage",
    "TenantUsageBook",
    "TicketFact",
    "TimeEntryFact",
    "TransientError",
    "VendorClient",
    "id_ranges",
    "keyset_pages",
]
