"""Who a page request is signed in as: a person with a role, or an API key read-only.

The pages and their forms ask only this: `Person.can_edit`, `Person.is_owner`, the name
recorded as the author of what they write, and the CSRF token every form carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"  # everything: the plan, sources, users and keys
    EDITOR = "editor"  # the plan, check-ins, observations and stories
    VIEWER = "viewer"  # reads


EDITING_ROLES = frozenset({Role.OWNER, Role.EDITOR})


@dataclass(frozen=True, slots=True)
class Person:
    """The signed-in caller of a page.

    `user_id` is None when the page was opened with an API key (the older sign-in, kept for
    scripts and kiosks): such a caller reads only, whatever the key's scope."""

    name: str
    role: Role
    user_id: int | None
    csrf_token: str

    @property
    def can_edit(self) -> bool:
        return self.role in EDITING_ROLES

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER
