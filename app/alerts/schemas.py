"""What the alerts API takes and gives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.alerts.models import ChannelKind

StatusName = Literal[
    "not_started", "achieved", "on_track", "at_risk", "off_track", "missed", "no_data"
]
EventName = Literal["status_change", "milestone", "forecast_miss", "source_stale", "manual_quiet"]
OUTCOMES: tuple[Literal["hit", "missed"], ...] = ("hit", "missed")
DIGEST_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

CONFIG_DESCRIPTION = (
    "The channel's settings, by kind. teams and slack: `url`. webhook: `url` and `secret` "
    "(16+ characters). email: `host`, `port`, `security` (starttls, tls or none), "
    "`username`, `password`, `from_address`, `to` (a list). The URL, secret and password are "
    "write-only: answers never show them. On a change, a secret left out keeps its value."
)


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="e.g. 'Leadership (Teams)'.")
    kind: ChannelKind
    config: dict[str, Any] = Field(description=CONFIG_DESCRIPTION)
    enabled: bool = True
    digest_weekday: int | None = Field(
        None, ge=1, le=7, description="The weekly digest's day: 1 = Monday … 7 = Sunday."
    )
    digest_time: str | None = Field(
        None, pattern=DIGEST_TIME, description="The digest's time, HH:MM, reporting time zone."
    )
    send_quarterly_review: bool = Field(
        True, description="Send the quarter's review when a quarter closes."
    )

    @model_validator(mode="after")
    def _digest_both_or_neither(self) -> ChannelIn:
        if (self.digest_weekday is None) != (self.digest_time is None):
            raise ValueError("give both digest_weekday and digest_time, or neither")
        return self


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    config: dict[str, Any] | None = Field(None, description=CONFIG_DESCRIPTION)
    enabled: bool | None = None
    digest_weekday: int | None = Field(None, ge=1, le=7, description="Send 0 to stop digests.")
    digest_time: str | None = Field(None, pattern=DIGEST_TIME)
    send_quarterly_review: bool | None = None


class ChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: ChannelKind
    settings: dict[str, Any] = Field(
        validation_alias="display",
        description="What may be shown: the host a URL posts to, the SMTP server, sender and "
        "recipients. Never the URL, the secret or the password.",
    )
    enabled: bool
    digest_weekday: int | None
    digest_time: str | None
    digest_last_sent_on: date | None
    send_quarterly_review: bool
    created_at: datetime
    updated_at: datetime


class RuleIn(BaseModel):
    """Which goals, and which kind of event. Give `goal_id` for one goal, `objective_id` for
    an objective and every objective below it, or neither for the whole plan."""

    model_config = ConfigDict(extra="forbid")
    channel_id: int = Field(ge=1, le=2**31 - 1)
    name: str | None = Field(None, max_length=200)
    event: EventName = Field(
        description="status_change (filtered by from_statuses/to_statuses), milestone (hit or "
        "missed), forecast_miss (the forecast turns to 'will not make it'), source_stale (a "
        "source failing, or not synced for `hours`), manual_quiet (a manual KPI goal with no "
        "value entered for `weeks`)."
    )
    goal_id: int | None = Field(None, ge=1, le=2**31 - 1)
    objective_id: int | None = Field(None, ge=1, le=2**31 - 1)
    source_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="source_stale only: one source (else all)."
    )
    from_statuses: list[StatusName] = Field(
        default_factory=list, max_length=7, description="status_change: only from these."
    )
    to_statuses: list[StatusName] = Field(
        default_factory=list, max_length=7, description="status_change: only to these."
    )
    outcomes: list[Literal["hit", "missed"]] = Field(
        default_factory=lambda: list(OUTCOMES), max_length=2, description="milestone only."
    )
    hours: int = Field(24, ge=1, le=720, description="source_stale: hours without a sync.")
    weeks: int = Field(2, ge=1, le=52, description="manual_quiet: weeks without a value.")
    quiet_hours: int = Field(
        24,
        ge=0,
        le=720,
        description="After an alert about a goal or source, hold back this rule's next one "
        "about the same goal or source for this many hours.",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _one_scope(self) -> RuleIn:
        if self.goal_id is not None and self.objective_id is not None:
            raise ValueError("give goal_id or objective_id, not both")
        if self.source_id is not None and self.event != "source_stale":
            raise ValueError("source_id is for source_stale rules only")
        return self


class RulePatch(BaseModel):
    """What a rule may change once made: its name, switch, quiet period and filters. Its
    channel, event and scope stay (delete the rule and add another to change those)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    quiet_hours: int | None = Field(None, ge=0, le=720)
    from_statuses: list[StatusName] | None = Field(None, max_length=7)
    to_statuses: list[StatusName] | None = Field(None, max_length=7)
    outcomes: list[Literal["hit", "missed"]] | None = Field(None, max_length=2)
    hours: int | None = Field(None, ge=1, le=720)
    weeks: int | None = Field(None, ge=1, le=52)


# Which filters each event has: a patch may only set those of its rule's event.
EVENT_OPTIONS: dict[str, tuple[str, ...]] = {
    "status_change": ("from_statuses", "to_statuses"),
    "milestone": ("outcomes",),
    "forecast_miss": (),
    "source_stale": ("hours",),
    "manual_quiet": ("weeks",),
}


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    channel_id: int
    name: str | None
    event: str
    goal_id: int | None
    objective_id: int | None
    source_id: int | None
    options: dict[str, Any] = Field(description="The filters: statuses, outcomes, hours, weeks.")
    quiet_hours: int
    enabled: bool
    evaluated_through: date | None = Field(description="Snapshots up to this day are read.")
    created_at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    channel_id: int
    event_id: int | None
    purpose: str = Field(description="event, test, digest or review.")
    title: str = Field(description="The message's title.")
    idempotency_key: str = Field(description="Sent as X-Northstar-Idempotency-Key.")
    status: str = Field(description="pending, sending, sent or failed.")
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None = Field(description="Why the last attempt failed, in words.")
    history: list[dict[str, Any]] = Field(description="Every attempt: when, result, next.")
    created_at: datetime
