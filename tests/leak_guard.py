"""Guards against credentials leaking: the known test credentials and every spelling of them
a leak could take, a log collector that sees every log line of the run, and an API client
that checks every response body.

The spellings are worked out here, independently of the product's redaction, so a form the
product forgets to mask is still found.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from fastapi.testclient import TestClient

# Every credential value any test hands to a source. The last test of the run checks that
# none of them, in any spelling, ever reached a log line, and the API client checks every
# response body.
KNOWN_SECRETS: set[str] = {"fake-psa-token-7f3a9c", "rotated-fake-psa-token-21b8e4"}


def base64_forms(raw: bytes) -> set[str]:
    standard = base64.b64encode(raw).decode("ascii")
    url_safe = base64.urlsafe_b64encode(raw).decode("ascii")
    return {standard, url_safe, standard.rstrip("="), url_safe.rstrip("=")}


def leak_forms(secret: str) -> set[str]:
    """The spellings of `secret` that must never appear: as is, URL-encoded (as a query
    string and a path write it), JSON- and HTML-escaped, base64 and hex."""
    raw = secret.encode("utf-8")
    json_escaped = json.dumps(secret)[1:-1]
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret),
        json_escaped,
        json_escaped.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        raw.hex(),
        raw.hex().upper(),
        *base64_forms(raw),
    }


def basic_credential_forms(user: str, password: str) -> set[str]:
    """A Basic credential `user:password` as sent (`Basic <base64>`), its base64 alone and
    every spelling of the decoded pair."""
    pair = f"{user}:{password}"
    encoded = base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return {f"Basic {encoded}", *leak_forms(pair), *base64_forms(pair.encode("utf-8"))}


@lru_cache(maxsize=16)
def _folded(needles: frozenset[str]) -> tuple[tuple[str, str], ...]:
    return tuple((needle, needle.lower()) for needle in needles if needle)


def find_leaks(text: str, needles: Iterable[str]) -> list[str]:
    """The needles found in `text`, ignoring letter case (so upper-case hex or a proxy that
    changed case is found too)."""
    if not text:
        return []
    folded = text.lower()
    return sorted(needle for needle, low in _folded(frozenset(needles)) if low in folded)


def fragments(forms: Iterable[str], length: int) -> set[str]:
    """Every run of `length` characters of every form, in lower case."""
    return {
        form[i : i + length].lower()
        for form in forms
        if len(form) >= length
        for i in range(len(form) - length + 1)
    }


class FragmentFinder:
    """Finds any run of at least `length` characters of any form in a text, ignoring case
    (a secret echoed cut short). Scans the runs of `length - stride + 1` characters that
    start every `stride` characters (any longer run covers one of them), and confirms each
    hit as a whole run of `length`: a quarter of the cost of looking at every position."""

    def __init__(self, forms: Iterable[str], length: int, stride: int = 4) -> None:
        self._length = length
        self._window = length - stride + 1
        self._stride = stride
        self._runs = frozenset(fragments(forms, length))
        self._pieces = frozenset(fragments(forms, self._window))

    def find(self, text: str) -> list[str]:
        folded, length, window = text.lower(), self._length, self._window
        found = set()
        for i in range(0, len(folded) - window + 1, self._stride):
            if folded[i : i + window] not in self._pieces:
                continue
            for start in range(max(0, i - (length - window)), i + 1):
                if folded[start : start + length] in self._runs:
                    found.add(folded[start : start + length])
        return sorted(found)


def known_secret_forms() -> frozenset[str]:
    return frozenset(form for secret in KNOWN_SECRETS for form in leak_forms(secret))


def register_known_secrets(*values: str) -> None:
    """Add credentials a test uses to the ones every response and log line is checked for."""
    KNOWN_SECRETS.update(values)


class LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            self.lines.append(repr(record.__dict__))


LOG_COLLECTOR = LogCollector()


class CheckedClient(TestClient):
    """A TestClient that fails the test if a response ever carries a known credential, in
    any of its spellings."""

    def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().request(*args, **kwargs)
        leaked = find_leaks(response.text, known_secret_forms())
        assert not leaked, f"a credential leaked into an API response: {leaked}"
        return response
