"""Who a page request is signed in as: kept for earlier imports; the pages' sign-in lives
in app.people.web."""

from __future__ import annotations

from app.people.web import CSRF_FIELD, check_form, read_form, signed_in_person

__all__ = ["CSRF_FIELD", "check_form", "read_form", "signed_in_person"]
