"""The per-source push secret, and the URL token derived from it.

The secret (43 URL-safe characters) is the signing key a signing PSA (Autotask) is given.
The receiver URL carries a token derived from it, never the secret itself, so a URL seen
in a proxy's log does not give away the signing key. Both are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from app.security.crypto import CredentialCipher

_TOKEN_PURPOSE = b"northstar push receiver url"
_SEALED_FIELD = "push_secret"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def url_token(secret: str) -> str:
    digest = hmac.new(secret.encode(), _TOKEN_PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_matches(secret: str, token: str) -> bool:
    return hmac.compare_digest(url_token(secret).encode(), token.encode())


def seal(cipher: CredentialCipher, secret: str) -> str:
    return cipher.encrypt({_SEALED_FIELD: secret})


def unseal(cipher: CredentialCipher, sealed: str) -> str:
    return cipher.decrypt(sealed)[_SEALED_FIELD]


def receiver_url(public_base_url: str, source_id: int, secret: str) -> str:
    """Where the PSA posts this source's deliveries."""
    return f"{public_base_url.rstrip('/')}/api/v1/push/{source_id}/{url_token(secret)}"
