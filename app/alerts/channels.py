"""A channel's settings: checked per kind, split into what may be shown and what is secret.

The secret part (a Teams, Slack or webhook URL, a webhook signing secret, an SMTP password)
is stored only encrypted with the cipher PSA credentials use (`NORTHSTAR_ENCRYPTION_KEY`),
never returned, and registered with the log redactor whenever it is written or read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from app.alerts.models import AlertChannel, ChannelKind
from app.errors import InvalidInput
from app.logging import secrets_registry
from app.security.crypto import CredentialCipher
from app.sources.config import describe_validation_error

URL_DESCRIPTION = (
    "The address to post to (write-only: answers show its host only). It is a secret: "
    "anyone who has it can post to the channel."
)


def _check_url(value: SecretStr) -> SecretStr:
    parts = urlsplit(value.get_secret_value())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) address, e.g. https://example.webhook.office.com/...")
    return value


class TeamsConfig(BaseModel):
    """A Teams channel: the URL of a Workflows 'post to a channel when a webhook request is
    received' flow (or an older incoming webhook). Messages are Adaptive Cards."""

    model_config = ConfigDict(extra="forbid")
    url: SecretStr = Field(description=URL_DESCRIPTION)
    _url = field_validator("url")(_check_url)


class SlackConfig(BaseModel):
    """A Slack channel: the URL of an incoming webhook. Messages use Block Kit."""

    model_config = ConfigDict(extra="forbid")
    url: SecretStr = Field(description=URL_DESCRIPTION)
    _url = field_validator("url")(_check_url)


class WebhookConfig(BaseModel):
    """Any receiver of your own: a signed JSON POST (docs/alerts.md says how to verify it)."""

    model_config = ConfigDict(extra="forbid")
    url: SecretStr = Field(description=URL_DESCRIPTION)
    secret: SecretStr = Field(
        description="The signing secret (write-only), at least 16 characters: the receiver "
        "checks `X-Northstar-Signature` with it."
    )
    _url = field_validator("url")(_check_url)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value


EmailAddress = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class EmailConfig(BaseModel):
    """E-mail through your SMTP server; each message has an HTML and a plain-text part."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1, max_length=253, description="The SMTP server's name.")
    port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS, 465 for TLS.")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls (port 587), tls (port 465), or none (a relay on this machine "
        "or your own network only: the password would travel in clear).",
    )
    username: str | None = Field(None, max_length=254, description="Leave out for no login.")
    password: SecretStr | None = Field(None, description="The SMTP password (write-only).")
    from_address: EmailAddress = Field(description="The sender, e.g. northstar@example.com.")
    to: list[EmailAddress] = Field(min_length=1, max_length=20, description="Recipients.")
    tls_ca_file: str | None = Field(
        None,
        max_length=500,
        description="A PEM file of the authority that signed the server's certificate, when "
        "it is your own (otherwise the system's authorities are used).",
    )


CONFIG_MODELS: dict[ChannelKind, type[BaseModel]] = {
    ChannelKind.TEAMS: TeamsConfig,
    ChannelKind.SLACK: SlackConfig,
    ChannelKind.WEBHOOK: WebhookConfig,
    ChannelKind.EMAIL: EmailConfig,
}
SECRET_FIELDS = {"url", "secret", "password"}


def validate_channel_config(
    kind: ChannelKind, raw: dict[str, Any], stored_secrets: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """(what may be shown, the secrets) of `raw`; a secret left out keeps its stored value."""
    merged = {**(stored_secrets or {}), **{k: v for k, v in raw.items() if v is not None}}
    try:
        config = CONFIG_MODELS[kind].model_validate(merged)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise InvalidInput(
            f"The channel settings are not valid: {summary}",
            code="invalid_channel_config",
            details=problems,
        ) from None
    secrets = {
        name: value.get_secret_value()
        for name in SECRET_FIELDS
        if isinstance(value := getattr(config, name, None), SecretStr)
    }
    shown = config.model_dump(mode="json", exclude=SECRET_FIELDS)
    if "url" in secrets:
        shown["host"] = urlsplit(secrets["url"]).hostname
    if kind is ChannelKind.EMAIL:
        shown["password_set"] = "password" in secrets
    register_secrets(secrets)
    return shown, secrets


def register_secrets(secrets: dict[str, str]) -> None:
    """Mask these values in every log line. Of a URL, the part after the host is the secret
    (the host is shown and would mask ordinary addresses in other lines)."""
    for name, value in secrets.items():
        if name == "url":
            parts = urlsplit(value)
            secret_part = parts.path + (f"?{parts.query}" if parts.query else "")
            secrets_registry.add(secret_part if len(secret_part) > 1 else None)
        else:
            secrets_registry.add(value)


def store_secrets(channel: AlertChannel, cipher: CredentialCipher, secrets: dict[str, str]) -> None:
    channel.secrets_encrypted = cipher.encrypt(secrets)


def channel_secrets(channel: AlertChannel, cipher: CredentialCipher) -> dict[str, str]:
    """The decrypted secrets, registered with the log redactor before anything uses them."""
    secrets = cipher.decrypt(channel.secrets_encrypted)
    register_secrets(secrets)
    return secrets
