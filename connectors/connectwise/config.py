"""Settings of one ConnectWise PSA source, validated with messages an MSP owner understands."""

from __future__ import annotations

import re
from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# ConnectWise cloud: the UI host (or its region shorthand) maps to the `api-` host, because
# calling the UI host answers "SSL is required." (reference §1).
CLOUD_API_HOSTS: dict[str, str] = {
    "na": "api-na.myconnectwise.net",
    "eu": "api-eu.myconnectwise.net",
    "au": "api-au.myconnectwise.net",
    "aus": "api-aus.myconnectwise.net",
    "za": "api-za.myconnectwise.net",
    "staging": "api-staging.connectwisedev.com",
    "na.myconnectwise.net": "api-na.myconnectwise.net",
    "eu.myconnectwise.net": "api-eu.myconnectwise.net",
    "au.myconnectwise.net": "api-au.myconnectwise.net",
    "aus.myconnectwise.net": "api-aus.myconnectwise.net",
    "za.myconnectwise.net": "api-za.myconnectwise.net",
    "staging.connectwisedev.com": "api-staging.connectwisedev.com",
}

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$")
_CODEBASE = re.compile(r"^v\d{4}_\d+$|^v4_6_release$")
_API_VERSION = re.compile(r"^\d{4}\.\d{1,2}$")


class ConnectWiseConfig(BaseModel):
    """How to reach one ConnectWise PSA tenant.

    Give `site` (a cloud region such as `na`, the cloud host you log in to such as
    `eu.myconnectwise.net`, or your own server's host name for on-premises) or `base_url`
    (any URL, used by tests and proxies), never both.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str | None = Field(
        default=None,
        description="Cloud region (na, eu, au, aus, za), cloud host, or on-premises host name.",
    )
    base_url: str | None = Field(default=None, description="Full URL; overrides `site`.")
    company_id: str = Field(description="The company id you type on the ConnectWise login page.")
    public_key: str = Field(description="Public key of the API member.")
    private_key: SecretStr = Field(description="Private key of the API member.")
    client_id: SecretStr = Field(
        description="The integration's clientId from developer.connectwise.com."
    )
    codebase: str | None = Field(
        default=None,
        description="e.g. v2025_1; discovered from the login page when left empty.",
    )
    api_version: str = Field(
        default="2025.1",
        description="Pinned API model version sent in the Accept header.",
    )
    owner_company_identifier: str | None = Field(
        default=None,
        description=(
            "Identifier of your own company in ConnectWise (time charged to it is internal). "
            "When empty, the company whose type is 'Owner' is used."
        ),
    )
    lookback_minutes: int | None = Field(
        default=None, ge=0, le=24 * 60, description="Re-read window before the last sync."
    )
    page_size: int = Field(default=1000, ge=25, le=1000)
    concurrency: int = Field(default=4, ge=1, le=16)
    forward_only_paging: bool = Field(
        default=True,
        description=(
            "Page big reads with ConnectWise's forward-only paging (pageId). Servers that do "
            "not offer it are detected and read the classic way; turn it off only if yours "
            "misbehaves with it."
        ),
    )
    agreement_additions_refresh_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 31,
        description=(
            "How often, in hours, the additions of every active recurring agreement are read "
            "again in full. ConnectWise may change an addition without marking its agreement "
            "as changed, so without this the monthly recurring revenue could drift. 24: daily."
        ),
    )
    survey_results_support_last_updated: bool = Field(
        default=True,
        description=(
            "Filter survey results by lastUpdated (unconfirmed on older versions; "
            "turned off automatically when the PSA rejects the filter)."
        ),
    )

    @field_validator("company_id", "public_key")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if any(ch.isspace() for ch in value):
            raise ValueError("must not contain spaces")
        return value

    @field_validator("private_key", "client_id")
    @classmethod
    def _secret_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("codebase")
    @classmethod
    def _codebase_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().strip("/")
        if not _CODEBASE.match(value):
            raise ValueError(
                "looks wrong: expected something like v2025_1 or v4_6_release "
                "(leave it empty to discover it automatically)"
            )
        return value

    @field_validator("api_version")
    @classmethod
    def _api_version_shape(cls, value: str) -> str:
        value = value.strip()
        if not _API_VERSION.match(value):
            raise ValueError("must look like 2025.1 (year.release)")
        return value

    @model_validator(mode="after")
    def _one_location(self) -> Self:
        if self.site and self.base_url:
            raise ValueError("give either the ConnectWise site or a base URL, not both")
        if not self.site and not self.base_url:
            raise ValueError(
                "say where your ConnectWise is: a site such as 'na' or 'eu.myconnectwise.net', "
                "your own server's host name, or a base URL"
            )
        if self.site is not None:
            site_host(self.site)  # raises ValueError with a readable message
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("the base URL must start with https:// and name a host")
        return self

    @property
    def root_url(self) -> str:
        """Scheme and host (plus any path prefix of `base_url`), without a trailing slash."""
        if self.base_url is not None:
            return self.base_url.rstrip("/")
        assert self.site is not None
        return f"https://{site_host(self.site)}"


def site_host(site: str) -> str:
    """The API host for a site: cloud regions and UI hosts map to `api-` hosts; any other
    host name (on-premises) is used as given. Raises ValueError for something not a host."""
    cleaned = site.strip().lower()
    cleaned = re.sub(r"^https?://", "", cleaned).strip("/")
    if cleaned in CLOUD_API_HOSTS:
        return CLOUD_API_HOSTS[cleaned]
    if cleaned.startswith("api-") and cleaned.endswith(
        (".myconnectwise.net", ".connectwisedev.com")
    ):
        return cleaned
    if not _HOST.match(cleaned) or "." not in cleaned:
        raise ValueError(
            f"'{site}' is not a ConnectWise site: use a cloud region (na, eu, au, aus, za), "
            "the host you log in to (eu.myconnectwise.net), or your server's host name"
        )
    return cleaned
