"""What an MSP owner fills in to connect Northstar to Autotask PSA.

Validation messages are written for the person at the form, not for a developer.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_ZONE_LOOKUP_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
# Autotask allows 10,000 requests per rolling hour per database, shared by every integration
# of the tenant; Northstar takes a quarter by default.
DEFAULT_REQUESTS_PER_HOUR = 2_500
# Autotask rejects a 4th concurrent request per integration code and entity endpoint.
MAX_CONCURRENCY_PER_ENTITY = 3


class AutotaskConfig(BaseModel):
    """Settings of one Autotask source. Credentials are `SecretStr` and never logged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_username: SecretStr = Field(
        description="The API-only user's username (an e-mail address).",
    )
    secret: SecretStr = Field(description="The API user's password (secret).")
    integration_code: SecretStr = Field(
        description="The API tracking identifier of the integration.",
    )
    zone_url: str | None = Field(
        default=None,
        description=(
            "The REST root of your Autotask zone, e.g. "
            "https://webservices5.autotask.net/ATServicesRest/. Leave empty to discover it."
        ),
    )
    zone_lookup_url: str = Field(
        default=DEFAULT_ZONE_LOOKUP_URL,
        description="Where the zone is looked up (only changed for tests).",
    )
    requests_per_hour: int = Field(
        default=DEFAULT_REQUESTS_PER_HOUR,
        description="The most Northstar may ask of the tenant's 10,000 requests per hour, "
        "a first sync or a full re-read included.",
    )
    tenant_share_percent: float = Field(
        default=2.5,
        gt=0,
        le=100,
        description="The share of the tenant's hourly limit Northstar's regular checks may "
        "use (2.5 %: 250 of 10,000). When they would need more, or the tenant is busier than "
        "half its limit, Northstar checks less often.",
    )
    concurrency_per_entity: int = Field(
        default=MAX_CONCURRENCY_PER_ENTITY,
        description="Requests in flight per Autotask entity (Autotask allows at most 3).",
    )
    # A backfill or full pass of at least this many records is read as parallel id ranges.
    backfill_split_min_records: int = Field(default=5_000, ge=1)
    survey_rating_min: float = Field(default=1.0, description="Lowest survey rating.")
    survey_rating_max: float = Field(default=5.0, description="Highest survey rating.")
    # ContractServiceUnits `price`: extended for the billing period (docs/kpis.md §4.4), or
    # per unit.
    service_unit_price_is_extended: bool = True
    # Contracts ending on or after this day are treated as open-ended (Autotask requires an
    # end date, so open-ended contracts carry a far-future one).
    open_ended_from: date = date(2090, 1, 1)
    # Deleted*ActivityLogs name no time entry: a log row removes the one stored entry with
    # its ticket (or no ticket, for task time), resource, start and hours, and nothing when
    # none or several match (the id sweep removes those). Off: only the sweep removes time.
    time_entry_deletions_from_logs: bool = True
    # The log `typeID` values that are time entries. Autotask's values are not documented:
    # empty means "by the typeID picklist's label (Time…), else any row with hours worked".
    time_entry_activity_type_ids: frozenset[int] = frozenset()
    # Per webhook entity (`TicketWebhooks`, `CompanyWebhooks`): Autotask's `FieldID`s its
    # webhook watches besides those its field info names (see `webhook_fields.py`).
    webhook_field_ids: dict[str, frozenset[int]] = Field(default_factory=dict)

    @field_validator("api_username", "secret", "integration_code")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError(
                "is required: copy it from Admin > Resources/Users > your API user (Security tab)"
            )
        return value

    @field_validator("zone_url", "zone_lookup_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                "must be a web address starting with https://, for example "
                "https://webservices5.autotask.net/ATServicesRest/"
            )
        return value

    @field_validator("requests_per_hour")
    @classmethod
    def _sane_budget(cls, value: int) -> int:
        # No upper cap: the tenant's live usage (ThresholdInformation) caps each run anyway.
        if value < 1:
            raise ValueError(
                "must be at least 1 (Autotask allows 10,000 requests per hour for the whole "
                "tenant, shared by every integration; 2,500 leaves room for the others)"
            )
        return value

    @field_validator("concurrency_per_entity")
    @classmethod
    def _sane_concurrency(cls, value: int) -> int:
        if not 1 <= value <= MAX_CONCURRENCY_PER_ENTITY:
            raise ValueError(
                f"must be between 1 and {MAX_CONCURRENCY_PER_ENTITY}: Autotask rejects more "
                "concurrent requests per entity"
            )
        return value

    @model_validator(mode="after")
    def _rating_scale(self) -> AutotaskConfig:
        if self.survey_rating_max <= self.survey_rating_min:
            raise ValueError(
                "the survey rating scale's highest rating must be above its lowest rating "
                f"(got {self.survey_rating_min:g} to {self.survey_rating_max:g})"
            )
        return self

    def rest_root(self, zone_url: str) -> str:
        """`{zone_url}v1.0/`: the base every entity path is relative to."""
        root = zone_url if zone_url.endswith("/") else zone_url + "/"
        return root + "v1.0/"
