"""Encryption at rest for PSA credentials (Fernet: AES-128-CBC with HMAC-SHA256).

Several comma-separated keys rotate: the first encrypts, any decrypts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.settings import HOW_TO_MAKE_A_KEY, Settings


class CredentialCipherError(Exception):
    """Stored credentials cannot be decrypted with the configured key(s)."""

    code = "credentials_unreadable"


class CredentialCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed. " + HOW_TO_MAKE_A_KEY)
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except ValueError as exc:
            raise ValueError(
                "NORTHSTAR_ENCRYPTION_KEY is not a valid key (32 url-safe base64 bytes). "
                + HOW_TO_MAKE_A_KEY
            ) from exc

    def encrypt(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, str]:
        if not token:
            return {}
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise CredentialCipherError(
                "The stored PSA credentials cannot be decrypted with NORTHSTAR_ENCRYPTION_KEY. "
                "Restore the key they were saved with (add it after the current one to rotate)."
            ) from exc
        return {str(k): str(v) for k, v in data.items()}


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _development_key(path: Path) -> str:
    """Development only: a key generated once and kept beside the working directory."""
    if path.exists():
        return path.read_text().strip()
    key = generate_key()
    path.write_text(key + "\n")
    os.chmod(path, 0o600)
    return key


def cipher_from_settings(settings: Settings) -> CredentialCipher:
    if settings.encryption_key is not None:
        return CredentialCipher(settings.encryption_key.get_secret_value().split(","))
    return CredentialCipher([_development_key(settings.dev_key_file)])
