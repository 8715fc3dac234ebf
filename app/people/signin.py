"""Signing in with an e-mail address and a password.

Every failure (unknown address, wrong password, disabled person) gets the same answer and
takes the same time (an unknown address is checked against a hash no password matches),
so the form tells no one who has an account. Failures count against the client's address,
with wrong API keys (app.api.throttle), and against the e-mail address typed, from
wherever it comes: `sign_in_failures_per_email` failures within
`sign_in_failure_window_minutes` make further sign-ins for it wait.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog
from fastapi import Request
from sqlalchemy.orm import Session

from app.api.throttle import FailedKeyThrottle, TooManyFailedKeys, client_address, throttle_for
from app.errors import NorthstarError
from app.people.models import EMAIL_MAX, User
from app.people.passwords import spend_verification_time, verify_password
from app.people.users import find_user

log = structlog.get_logger(__name__)

REFUSED_MESSAGE = (
    "That e-mail address and password do not match anyone who may sign in. Check both and "
    "try again, or ask your Northstar owner."
)


class SignInRefused(NorthstarError):
    status_code = 401
    code = "sign_in_refused"

    def __init__(self) -> None:
        super().__init__(REFUSED_MESSAGE)


class SignInThrottled(NorthstarError):
    status_code = 429
    code = "too_many_failed_sign_ins"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed sign-ins: try again in {retry_after} seconds.",
            details={"retry_after_seconds": retry_after},
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


_creating = threading.Lock()


def email_throttle_for(app: Any) -> FailedKeyThrottle:
    """The app's count of failed sign-ins per e-mail address, made on first use."""
    throttle: FailedKeyThrottle | None = getattr(app.state, "email_throttle", None)
    if throttle is None:
        with _creating:
            throttle = getattr(app.state, "email_throttle", None)
            if throttle is None:
                settings = app.state.context.settings
                throttle = FailedKeyThrottle(
                    limit=settings.sign_in_failures_per_email,
                    window_seconds=settings.sign_in_failure_window_minutes * 60,
                )
                app.state.email_throttle = throttle
    return throttle


def sign_in_with_password(session: Session, request: Request, email: str, password: str) -> User:
    """The person `email` and `password` name, allowed to sign in. Raises `SignInThrottled`
    while the client's address or the e-mail address has used up its failures, and
    `SignInRefused` otherwise for any failure. A hash made with older parameters is
    replaced by a current one (written with the caller's transaction)."""
    by_address = throttle_for(request.app)
    by_email = email_throttle_for(request.app)
    client = client_address(request.scope)
    email_key = email.strip().lower()[:EMAIL_MAX]
    try:
        by_address.refuse_if_blocked(client)
        by_email.refuse_if_blocked(email_key)
    except TooManyFailedKeys as refused:
        raise SignInThrottled(refused.retry_after) from None
    user = find_user(session, email_key)
    if user is None:
        spend_verification_time(password)
        allowed, new_hash = False, None
    else:
        verified = verify_password(user.password_hash, password)
        allowed, new_hash = verified.ok and user.disabled_at is None, verified.new_hash
    if not allowed:
        failures = by_address.record_failure(client)
        for_email = by_email.record_failure(email_key)
        # An unknown "address" may be a password typed in the wrong field: never logged.
        log.warning(
            "sign_in_refused",
            client=client,
            user_id=user.id if user is not None else None,
            failures_in_window=failures,
            failures_for_email=for_email,
            throttled_from_now=failures >= by_address.limit or for_email >= by_email.limit,
        )
        raise SignInRefused()
    assert user is not None
    if new_hash is not None:
        user.password_hash = new_hash
    log.info("signed_in", user_id=user.id, client=client)
    return user
