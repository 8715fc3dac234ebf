"""The JSON shapes of the sources API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.push.view import PushOut
from app.sources.pace_view import BudgetOut

LIVE_INTERVAL_HELP = (
    "How often tickets and time entries are checked for changes, in seconds (15 to 3600)."
)
FAST_INTERVAL_HELP = (
    "How often other changing data is checked (surveys, deletion logs, Autotask's clients), "
    "in minutes."
)
SLOW_INTERVAL_HELP = (
    "How often slow-changing data (technicians, agreements) is read and deletions are "
    "swept, in minutes."
)


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Your name for this PSA.")
    kind: str = Field(description="Which PSA: `connectwise` or `autotask` (see /connectors).")
    config: dict[str, Any] = Field(
        description="The PSA's connection settings; see the connector's config schema."
    )
    live_interval_seconds: int | None = Field(
        None, ge=15, le=3600, description=LIVE_INTERVAL_HELP + " Default 60."
    )
    fast_interval_minutes: int | None = Field(
        None, ge=1, le=1440, description=FAST_INTERVAL_HELP + " Default 5."
    )
    slow_interval_minutes: int | None = Field(
        None, ge=1, le=10080, description=SLOW_INTERVAL_HELP + " Default 60."
    )


class SourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    config: dict[str, Any] | None = Field(
        None,
        description="Only the settings to change. Leave a secret out (or send it back "
        "masked) to keep it.",
    )
    live_interval_seconds: int | None = Field(None, ge=15, le=3600, description=LIVE_INTERVAL_HELP)
    fast_interval_minutes: int | None = Field(None, ge=1, le=1440, description=FAST_INTERVAL_HELP)
    slow_interval_minutes: int | None = Field(None, ge=1, le=10080, description=SLOW_INTERVAL_HELP)
    paused: bool | None = Field(None, description="Pause or resume scheduled syncs.")


class StreamState(BaseModel):
    stream: str
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    consecutive_failures: int
    next_attempt_at: datetime | None


class StreamFreshnessOut(BaseModel):
    """How fresh one stream's data is."""

    model_config = ConfigDict(from_attributes=True)

    name: str = Field(description="The stream (`tickets`, `time_entries`, `companies`, ...).")
    cadence: str = Field(
        description="`live` (tickets and time entries, checked every `live_interval_seconds`), "
        "`fast` (every `fast_interval_minutes`) or `slow` (every `slow_interval_minutes`)."
    )
    interval_seconds: int = Field(description="How often this stream is checked, in seconds.")
    last_checked_at: datetime | None = Field(
        description="When Northstar last asked the PSA for this stream's changes and got an "
        "answer (UTC): every change made before then is in Northstar. null: never yet."
    )
    checked_age_seconds: int | None = Field(
        description="Seconds since `last_checked_at`. Normally under `interval_seconds` plus "
        "the time a sync takes."
    )
    newest_change_at: datetime | None = Field(
        description="The newest change Northstar has read in this stream: the latest "
        "'last updated' stamp of its records, by the PSA's clock (UTC). A quiet afternoon "
        "makes it old while `last_checked_at` stays fresh. null for streams without change "
        "stamps (id sweeps, full re-reads) or before any record was read."
    )
    change_age_seconds: int | None = Field(description="Seconds since `newest_change_at`.")
    stale: bool = Field(
        description="Not checked for `stale_after_intervals` (default 3) of its intervals "
        "while the source is active: the numbers built on it may be out of date."
    )


class FreshnessOut(BaseModel):
    """How up to date a source's data is, stream by stream (app.ingest.freshness)."""

    model_config = ConfigDict(from_attributes=True)

    stale: bool = Field(
        description="A stream of this active source has not been checked for "
        "`stale_after_intervals` (default 3) of its intervals: for tickets, 3 minutes at the "
        "default 60-second cadence."
    )
    streams: list[StreamFreshnessOut]


class SourceCoverage(BaseModel):
    history_from: date | None = Field(
        description="The first day from which this PSA's history is held in full: the first "
        "day of its backfill, or its earliest ticket, time entry or survey when its whole "
        "history was read. KPI periods starting earlier have no value. null until every "
        "stream has been read once from the start."
    )
    synced_until: datetime | None = Field(
        description="Up to when this PSA is synced: the oldest of its streams' last "
        "successful syncs (UTC). KPI periods ending later are shown as partial. null while "
        "a stream has never synced."
    )


class SourceOut(BaseModel):
    id: int
    name: str
    kind: str
    status: str = Field(
        description="`unverified` (added or changed, its check has not passed: not synced "
        "yet), `active` (synced on schedule), `needs_attention` (the PSA refused its "
        "settings: fix them) or `paused`."
    )
    status_code: str | None = Field(description="Why it is not active, as a stable code.")
    status_message: str | None = Field(
        description="Why it is not active, in words: what happened, at which host, and the "
        "setting to fix."
    )
    config: dict[str, Any] = Field(description="Settings, with every secret masked.")
    live_interval_seconds: int = Field(description=LIVE_INTERVAL_HELP)
    fast_interval_minutes: int = Field(description=FAST_INTERVAL_HELP)
    slow_interval_minutes: int = Field(description=SLOW_INTERVAL_HELP)
    sync_requested_at: datetime | None
    created_at: datetime
    updated_at: datetime
    coverage: SourceCoverage = Field(description="Which days of this PSA's data Northstar holds.")
    freshness: FreshnessOut = Field(
        description="How recently each stream was checked and how new its newest change is."
    )
    requests_last_hour: int = Field(
        description="Requests to this PSA over the last hour, by every Northstar process (the "
        "scheduler, syncs from the command line), counted towards its request budget "
        "(Autotask: `config.requests_per_hour`, Northstar's share of the tenant's 10,000 an "
        "hour). A sync in progress has booked a few more than it has made yet."
    )
    budget: BudgetOut = Field(
        description="What this source may ask of its PSA, what its PSA tenant last reported, "
        "and how often each stream is checked now."
    )
    push: PushOut = Field(description="Whether the PSA tells Northstar about changes at once.")
    streams: list[StreamState]


class CheckResult(BaseModel):
    """What a check of the source found."""

    ok: bool
    code: str | None = Field(None, description="A stable code for the failure.")
    message: str = Field(
        description="In words: what happened, at which host, the setting to fix and how; "
        "then what the PSA said, with every credential masked."
    )
    failure: str | None = Field(
        None,
        description="The kind of failure: `dns` (the host name does not resolve), `refused` "
        "(nothing answers at the address), `tls` (its certificate is not trusted), `timeout`, "
        "`unreachable`, `unauthorized` (credentials refused), `forbidden` (access refused), "
        "`unknown_account` (no such company or API user), `not_found` (no PSA API at the "
        "address), `unavailable` (the PSA is busy or failing) or `unexpected`.",
    )
    host: str | None = Field(None, description="The host Northstar tried.")
    settings: list[str] = Field(
        default_factory=list,
        description="The settings to fix, named as in the source's `config`.",
    )
    psa_said: str | None = Field(
        None, description="The PSA's own words, with every credential masked."
    )


class SourceChecked(SourceOut):
    """A source just added or changed, with the check that ran on it."""

    check: CheckResult | None = Field(
        description="The check this request ran: adding a source, changing its settings or "
        "resuming it checks it before it is synced. null when no check ran (a paused "
        "source, or only its name or intervals changed)."
    )


class SyncRequested(BaseModel):
    source_id: int
    requested_at: datetime
    message: str


class SkippedRecord(BaseModel):
    """A record the PSA sent that could not be stored, and why."""

    model_config = ConfigDict(from_attributes=True)

    stream: str
    record_key: str = Field(
        description="The record's id in the PSA (or `sha256:…` of its content when it has none)."
    )
    field: str = Field(description="The field that could not be read.")
    reason: str = Field(description="Why, in words: `missing`, `not a number: 'abc'`.")
    first_seen_at: datetime
    last_seen_at: datetime
    last_run_id: int | None = Field(description="The latest run that received it.")


class QuarantinedRecordOut(SkippedRecord):
    raw: dict[str, Any] = Field(description="The record as the PSA sent it.")


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    stream: str = Field(
        description="The stream, or `(whole source)` for a sync that failed before any stream ran."
    )
    trigger: str = Field(
        description="`schedule`, `manual` (a sync-now request), `cli` or `backfill`."
    )
    requested_at: datetime | None = Field(
        None, description="The sync-now request this run answered."
    )
    status: str = Field(description="`running`, `succeeded`, `failed` or `interrupted`.")
    started_at: datetime
    finished_at: datetime | None
    pages: int
    records: int = Field(description="Records read from the PSA.")
    facts_changed: int = Field(description="Stored facts added or changed.")
    facts_deleted: int = Field(description="Stored facts removed (deleted in the PSA).")
    records_skipped: int = Field(
        0, description="Records that could not be stored: see `skipped` and /quarantine."
    )
    requests: int
    warnings: list[str] = Field(
        default_factory=list, description="What the run had to do without, in words."
    )
    skipped: list[SkippedRecord] = Field(
        default_factory=list,
        description="The records this run could not store (still in quarantine), up to 20.",
    )
    error_code: str | None
    error_message: str | None

    @field_validator("warnings", mode="before")
    @classmethod
    def _none_is_no_warning(cls, value: Any) -> Any:
        return value or []


class ConnectorOut(BaseModel):
    kind: str
    name: str
    streams: list[str]
    config_schema: dict[str, Any]
