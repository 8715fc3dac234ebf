"""Errors a connector raises, split by what the runner should do about them.

Every error has a stable `code` (shown to users and stored on the sync run) and a message
that must never contain a credential: build messages from vendor text and field names only.
As a second line of defence every message is scrubbed when the error is made (see
`connectors.sdk.redaction`), so a vendor echoing a credential cannot put it in an exception.
"""

from __future__ import annotations

from connectors.sdk.redaction import secret_registry


class ConnectorError(Exception):
    """Base class. `code` is stable; the message is for a person."""

    code = "connector_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        message = secret_registry.scrub(message)
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class AuthError(ConnectorError):
    """The PSA refused the credentials (401/403). The source needs a person's attention;
    retrying with the same credentials cannot help."""

    code = "psa_auth_failed"


class ConfigError(ConnectorError):
    """The source's settings are wrong (unknown company, bad URL, a field the PSA rejects).
    Like `AuthError`, it stops scheduling until the settings are edited."""

    code = "psa_config_invalid"


class TransientError(ConnectorError):
    """The PSA is busy or failing (429 beyond our patience, 5xx, timeouts, junk JSON).
    The sync stops and resumes from its last committed page on a later tick."""

    code = "psa_unavailable"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class FatalError(ConnectorError):
    """A bug or a response we cannot make sense of; retrying the same request will not help,
    but a later run might (the run is recorded as failed and the next tick tries again)."""

    code = "psa_unexpected_response"


class BudgetExhausted(TransientError):
    """The source's request budget for the current window is spent and waiting for it
    would exceed the caller's patience."""

    code = "psa_request_budget_exhausted"


class TenantLimitReached(TransientError):
    """The PSA's limit for the whole tenant (every integration together) is used up, or so
    nearly that Northstar keeps what is left in reserve: nothing is asked until it frees up.
    The sync stops and tries again after `retry_after`."""

    code = "psa_tenant_limit_reached"


class RecordRejected(ValueError):
    """Raised by `normalize` for one record that cannot become a fact (a required field
    missing, a number that is not one). Not a stream failure: the runner quarantines the raw
    record with `field` and `reason`, stores the rest of the page, and tries the record again
    when the PSA sends it again (a record fixed at the source has a new change stamp).

    `reason` is for a person: "missing", "not a number: 'abc'"; never a credential.
    """

    def __init__(self, field: str, reason: str) -> None:
        reason = secret_registry.scrub(reason)
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
