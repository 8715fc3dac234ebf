"""Passwords: argon2id hashes (argon2-cffi's current parameters) and the rules a new one
must meet.

Only the hash is ever stored. A hash made with older parameters still verifies and is
replaced at the next successful sign-in (`Verified.new_hash`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import InvalidInput

MIN_LENGTH = 12
# Long enough for any passphrase; bounded so that hashing a pasted novel costs nothing.
MAX_LENGTH = 200

# argon2id with the library's defaults (RFC 9106's second recommended profile: 64 MiB,
# 3 passes). A module attribute so that a later release can raise them in one place.
HASHER = PasswordHasher()


class PasswordRefused(InvalidInput):
    code = "password_refused"


@dataclass(frozen=True, slots=True)
class Verified:
    ok: bool
    new_hash: str | None = None  # set when the stored hash should be replaced by this one


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> Verified:
    """Whether `password` matches `stored_hash`; with a fresh hash when the stored one was
    made with other parameters than today's."""
    try:
        HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return Verified(ok=False)
    if HASHER.check_needs_rehash(stored_hash):
        return Verified(ok=True, new_hash=HASHER.hash(password))
    return Verified(ok=True)


@lru_cache(maxsize=1)
def _unmatchable_hash() -> str:
    return HASHER.hash("no one has this password: it only spends the time of a check")


def spend_verification_time(password: str) -> None:
    """Verify `password` against a hash no one's password matches: a sign-in for an unknown
    e-mail address takes as long as one for a known one, so timing tells no one which
    addresses have an account."""
    verify_password(_unmatchable_hash(), password)


def check_password_rules(password: str, *, email: str, name: str) -> None:
    """Raise `PasswordRefused` (422) for a password too short, too long, or that is just
    the person's e-mail address or name."""
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(
            f"The password is {len(password)} characters long; it needs at least "
            f"{MIN_LENGTH}. A few words you will remember make a good one.",
            code="password_too_short",
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(
            f"The password is longer than {MAX_LENGTH} characters; choose a shorter one.",
            code="password_too_long",
        )
    folded = password.strip().casefold()
    obvious = {email.strip().casefold(), name.strip().casefold(), email.split("@")[0].casefold()}
    if folded in obvious:
        raise PasswordRefused(
            "The password must not be the person's e-mail address or name; choose one that "
            "others cannot guess.",
            code="password_too_obvious",
        )
