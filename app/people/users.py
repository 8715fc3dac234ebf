"""The people who may sign in: created, listed, disabled, enabled and given a new password
(by the `northstar user` commands). E-mail addresses are kept lower-cased; passwords only
as argon2id hashes (app.people.passwords).

Disabling a person or resetting their password ends every session they have open. The
People page (app.web.planning.people_page) adds two rules the CLI does not need: an owner
cannot disable themselves, and the last owner who may sign in keeps the owner role.

A password the People page makes (`one_time_password`) is kept as temporary
(`User.password_is_temporary`): the person must choose their own on *My account*
(`change_own_password`) before any other page opens. One typed at `northstar user` is the
person's own, so is not temporary."""

from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.people.models import EMAIL_MAX, NAME_MAX, User, WebSession
from app.people.passwords import check_password_rules, hash_password, verify_password
from app.people.principal import Role
from app.people.sessions import revoke_sessions_of


def normalise_email(email: str) -> str:
    """The address as stored: trimmed and lower-cased. Raises `InvalidInput` for anything
    that is not shaped like name@domain.example."""
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(address) > EMAIL_MAX
        or any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in address)
    ):
        raise InvalidInput(
            f"{email.strip()!r} is not an e-mail address; write it like ana@example.com.",
            code="invalid_email",
        )
    return address


def check_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > NAME_MAX:
        raise InvalidInput(
            f"The name must be 1 to {NAME_MAX} characters: how the person is shown as the "
            "author of check-ins and stories, e.g. 'Ana Costa'.",
            code="invalid_name",
        )
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise InvalidInput("The name must not contain control characters.", code="invalid_name")
    return cleaned


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a role: use owner (everything, including sources, people and "
            "keys), editor (the plan, check-ins, observations and stories) or viewer (reads).",
            code="invalid_role",
        ) from None


def find_user(session: Session, email: str) -> User | None:
    """The person with this address (any letter case), or None; never raises for a
    malformed address (a sign-in form says the same for every failure)."""
    address = email.strip().lower()
    if not address or len(address) > EMAIL_MAX:
        return None
    return session.scalar(select(User).where(User.email == address))


def get_user(session: Session, email: str) -> User:
    user = find_user(session, normalise_email(email))
    if user is None:
        raise NotFound(
            f"There is no person with the e-mail address {email.strip()!r}; "
            "`northstar user list` shows who there is.",
            code="user_not_found",
        )
    return user


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    temporary: bool = False,
) -> User:
    """A new person who can sign in with `email` and `password` (`temporary`: a one-time
    password someone else passes on, to be changed on *My account* before anything else).
    Raises `InvalidInput` for a malformed address or name or a password that breaks the
    rules, and `Conflict` when the address is taken."""
    address = normalise_email(email)
    shown_name = check_name(name)
    role = parse_role(str(role))
    check_password_rules(password, email=address, name=shown_name)
    if find_user(session, address) is not None:
        raise _taken(address)
    now = utcnow()
    user = User(
        email=address,
        name=shown_name,
        role=role.value,
        password_hash=hash_password(password),
        created_at=now,
        password_changed_at=now,
        password_is_temporary=temporary,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise _taken(address) from None  # created at the same moment by someone else
    return user


def _taken(address: str) -> Conflict:
    return Conflict(
        f"There is already a person with the e-mail address {address!r}.", code="email_taken"
    )


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(func.lower(User.name), User.id)))


def disable_user(session: Session, email: str) -> tuple[User, int]:
    """Stop `email` from signing in; returns the person and how many sessions were ended."""
    user = get_user(session, email)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    return user, revoke_sessions_of(session, user.id)


def enable_user(session: Session, email: str) -> User:
    user = get_user(session, email)
    user.disabled_at = None
    return user


def reset_password(
    session: Session, email: str, password: str, *, temporary: bool = False
) -> tuple[User, int]:
    """Give `email` a new password (`temporary`: a one-time password, as for
    `create_user`); returns the person and how many sessions were ended (all of them:
    whoever knew the old password is signed out)."""
    user = get_user(session, email)
    check_password_rules(password, email=user.email, name=user.name)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.password_is_temporary = temporary
    return user, revoke_sessions_of(session, user.id)


def set_role(session: Session, email: str, role: Role) -> User:
    user = get_user(session, email)
    user.role = parse_role(str(role)).value
    return user


# 18 random bytes: 24 characters of letters, digits, "-" and "_" (above the 12 the rules ask).
ONE_TIME_PASSWORD_BYTES = 18


class WrongCurrentPassword(InvalidInput):
    code = "current_password_wrong"


def get_user_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(
            f"There is no person {user_id}: open the People page again.", code="user_not_found"
        )
    return user


def one_time_password() -> str:
    """A password Northstar makes for someone invited or reset from the People page, for
    the owner to pass on; the person changes it on *My account* once signed in (kept as
    `temporary` by `create_user` and `reset_password`, no other page opens until then)."""
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


def check_keeps_an_owner(session: Session, user: User, *, new_role: Role | None = None) -> None:
    """Raise `Conflict` (`last_owner`) when `user` is the last owner who may sign in and
    would stop being one: given `new_role`, or disabled (`new_role` None)."""
    if user.role != Role.OWNER.value or user.disabled_at is not None:
        return
    if new_role is Role.OWNER:
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.OWNER.value, User.disabled_at.is_(None), User.id != user.id)
    )
    if not others:
        raise Conflict(
            f"{user.name} is the last owner who can sign in: make someone else an owner "
            "first, so that someone can still manage people, sources and keys.",
            code="last_owner",
        )


def change_own_password(session: Session, user: User, current: str, new: str) -> int:
    """`user` changes their own password, knowing the current one; returns how many of
    their sessions were ended (all: the caller starts a new one for this browser). Raises
    `WrongCurrentPassword` or `PasswordRefused` (both 422); nothing changes then. The new
    password is their own: no longer temporary."""
    if not verify_password(user.password_hash, current).ok:
        raise WrongCurrentPassword(
            "That is not your current password. Type the one you signed in with.",
            details=[{"field": "current_password", "problem": "This is not your password."}],
        )
    check_password_rules(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.password_is_temporary = False
    return revoke_sessions_of(session, user.id)


def last_sign_ins(session: Session) -> dict[int, datetime]:
    """When each person last signed in, as far as their kept sessions tell (a session is
    forgotten some time after it ends)."""
    rows = session.execute(
        select(WebSession.user_id, func.max(WebSession.created_at)).group_by(WebSession.user_id)
    )
    return {user_id: moment for user_id, moment in rows if moment is not None}
