"""A source's settings: validated by its connector's config model, split into clear and secret.

Secret fields (typed `SecretStr` by the connector) are stored only encrypted, shown only
masked, and registered with the log redactor whenever they are decrypted.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from app.errors import InvalidInput
from app.logging import MASK, secrets_registry
from app.security.crypto import CredentialCipher


def secret_fields(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        members = (
            typing.get_args(annotation)
            if isinstance(annotation, types.UnionType)
            or typing.get_origin(annotation) is typing.Union
            else (annotation,)
        )
        if SecretStr in members:
            names.add(name)
    return names


def describe_validation_error(
    error: ValidationError, prefix: str = "config"
) -> list[dict[str, str]]:
    """Pydantic errors as `{field, problem}` pairs a person can act on, never echoing input."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in (prefix, *item["loc"]))
        problems.append({"field": location, "problem": item["msg"]})
    return problems


def validate_config(model: type[BaseModel], raw: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise InvalidInput(
            f"The source settings are not valid: {summary}",
            code="invalid_source_config",
            details=problems,
        ) from None


def split_config(config: BaseModel) -> tuple[dict[str, Any], dict[str, str]]:
    """(clear settings as JSON, secret values)."""
    secrets = secret_fields(type(config))
    public = config.model_dump(mode="json", exclude=secrets)
    hidden = {}
    for name in secrets:
        value = getattr(config, name)
        if value is not None:
            hidden[name] = value.get_secret_value()
    return public, hidden


def merge_config(
    model: type[BaseModel],
    stored_public: dict[str, Any],
    stored_secrets: dict[str, str],
    changes: dict[str, Any],
) -> BaseModel:
    """Apply a partial change; a secret left out, or sent back masked, keeps its value."""
    merged: dict[str, Any] = {**stored_public, **stored_secrets}
    for key, value in changes.items():
        if key in secret_fields(model) and value in (None, MASK):
            continue
        merged[key] = value
    return validate_config(model, merged)


def masked_config(
    model: type[BaseModel] | None, public: dict[str, Any], has_secrets: set[str]
) -> dict[str, Any]:
    shown = dict(public)
    names = secret_fields(model) if model is not None else has_secrets
    for name in names:
        shown[name] = MASK if name in has_secrets else None
    return shown


def decrypt_secrets(cipher: CredentialCipher, token: str) -> dict[str, str]:
    values = cipher.decrypt(token)
    secrets_registry.add(*values.values())
    return values
