"""Masking credentials in any text Northstar keeps, shows or logs.

One registry per process holds the values that must never be printed: every PSA credential
the service decrypts and every credential a `VendorClient` sends (see `credentials_sent`).
`scrub` masks each of them in every form a PSA, a proxy that echoes the request, or Northstar
itself could write it in: as is, URL-encoded (once or twice, either case of hex digits), JSON-,
HTML- or repr-escaped, as hex in either case, and as base64 at each of the three byte
alignments, so a key found inside a Basic credential (`base64(company+public:private)`) is
masked too. Any run of at least `FRAGMENT` characters of such a form is masked as well: a PSA
or proxy that echoes a header cut short still shows nothing of it. Matching keeps letter case:
ignoring it would let a secret made of words ("SANDBOXINTEGRATION") mask those words in any
text ("ApiIntegrationCode").

Redact first, shorten after (`redact_and_shorten`): shortening first can leave the start of
a secret behind, where the whole of it would have been recognised.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

MASK = "********"
# Shorter values would mask ordinary words; they are never registered.
MIN_SECRET_LENGTH = 4
# Encoded forms (base64 pieces, hex) shorter than this could be any word: not masked.
MIN_ENCODED_LENGTH = 8
# Runs of a secret's form this long are masked wherever they appear (partial echoes).
FRAGMENT = 10
# A text is first probed for runs of PROBE characters every PROBE_STRIDE characters (any
# FRAGMENT-long run covers one); only a text that holds one is scanned in full.
PROBE_STRIDE = 4
PROBE = FRAGMENT - PROBE_STRIDE + 1

_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
# Header and query parameter names whose values are credentials, matched on the name in
# lower case without `-`, `_` or spaces: Authorization, Proxy-Authorization, Cookie, X-API-Key,
# clientId, ApiIntegrationCode, UserName, Secret, `?user=`, `?api_key=`, `?token=`...
_CREDENTIAL_NAME = re.compile(
    r"auth|cookie|secret|token|passw|apikey|integrationcode|clientid|username|privatekey|"
    r"credential|^user$|^login$|^email$|^key$|^code$"
)


def _base64_forms(raw: bytes) -> Iterator[str]:
    """Base64 (standard and URL-safe) of `raw` as it reads inside a longer encoded value
    that it starts at any byte offset of, without the characters its neighbours share."""
    yield base64.b64encode(raw).decode("ascii")
    for offset, shared_head in enumerate((0, 2, 3)):
        padded = b"\0" * offset + raw
        shared_tail = 1 if len(padded) % 3 else 0
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded).decode("ascii").rstrip("=")
            yield text[shared_head : len(text) - shared_tail]


def secret_forms(value: str) -> set[str]:
    """Every spelling of `value` that `scrub` recognises."""
    escaped = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    escaped |= {form.replace("/", "\\/") for form in escaped}
    url_encoded = {
        quote(value, safe=""),
        quote_plus(value, safe=""),
        quote(value),
        quote(value, safe="@:+,;=!$&'()*~"),
    }
    url_encoded |= {quote(form, safe="") for form in url_encoded}
    url_encoded |= {_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), f) for f in url_encoded}
    raw = value.encode("utf-8")
    encoded = {raw.hex(), raw.hex().upper(), *_base64_forms(raw)}
    forms = {
        value,
        repr(value)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
        *escaped,
        *url_encoded,
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH} | {
        form for form in encoded if len(form) >= MIN_ENCODED_LENGTH
    }


@dataclass(frozen=True, slots=True)
class _Tables:
    """What `scrub` looks things up in; replaced whole when a secret is added."""

    # The FRAGMENT-character runs of every long form, and their PROBE-character runs.
    fragments: frozenset[str] = frozenset()
    probes: frozenset[str] = frozenset()
    # Whole forms shorter than FRAGMENT, longest first.
    short_forms: tuple[str, ...] = ()
    longest_form: int = 0


class SecretRegistry:
    """Values that must never be printed, and the masking of them. Thread-safe.

    Values shorter than `MIN_SECRET_LENGTH` are ignored. Adding is rare (a source's
    credentials once per process) and rebuilds the lookup tables; `scrub` reads them without
    locking and costs about one look-up per `PROBE_STRIDE` characters of text, however many
    secrets are held.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._tables = _Tables()

    def add(self, *values: str | None) -> None:
        fresh = [v for v in values if v and len(v) >= MIN_SECRET_LENGTH and v not in self._values]
        if not fresh:
            return
        with self._lock:
            old = self._tables
            fragments, probes = set(old.fragments), set(old.probes)
            short, longest = set(old.short_forms), old.longest_form
            for value in fresh:
                if value in self._values:
                    continue
                self._values.add(value)
                for form in secret_forms(value):
                    longest = max(longest, len(form))
                    if len(form) < FRAGMENT:
                        short.add(form)
                        continue
                    fragments.update(_runs(form, FRAGMENT))
                    probes.update(_runs(form, PROBE))
            self._tables = _Tables(
                fragments=frozenset(fragments),
                probes=frozenset(probes),
                short_forms=tuple(sorted(short, key=len, reverse=True)),
                longest_form=longest,
            )

    @property
    def longest_form(self) -> int:
        """The length of the longest form held: text this far past a cut can still hold a
        secret that crosses it."""
        return self._tables.longest_form

    def scrub(self, text: str) -> str:
        """`text` with every registered secret, in every form and any long piece, masked."""
        tables = self._tables
        if not text or tables.longest_form == 0:
            return text
        if tables.fragments and _may_hold_a_fragment(text, tables.probes):
            text = _mask_spans(text, _fragment_spans(text, tables.fragments))
        for form in tables.short_forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def redact_and_shorten(self, text: str, limit: int) -> str:
        """The first `limit` characters of `text` once scrubbed (a secret cut by the limit
        is masked whole, never left half shown). Scrubs only what can reach the cut."""
        window = text[: limit + self.longest_form + 1]
        scrubbed = self.scrub(window)
        return scrubbed[:limit].strip()


def _runs(form: str, length: int) -> Iterator[str]:
    return (form[i : i + length] for i in range(len(form) - length + 1))


def _may_hold_a_fragment(text: str, probes: frozenset[str]) -> bool:
    """False only if no run of FRAGMENT characters of any form is in `text`: such a run
    covers a PROBE-character run starting at a multiple of PROBE_STRIDE."""
    return any(text[i : i + PROBE] in probes for i in range(0, len(text) - PROBE + 1, PROBE_STRIDE))


def _fragment_spans(text: str, fragments: frozenset[str]) -> list[tuple[int, int]]:
    """Merged [start, end) spans of `text` covered by registered fragments."""
    spans: list[tuple[int, int]] = []
    start = end = -1
    for i in range(len(text) - FRAGMENT + 1):
        if text[i : i + FRAGMENT] not in fragments:
            continue
        if i <= end:
            end = i + FRAGMENT
            continue
        if end >= 0:
            spans.append((start, end))
        start, end = i, i + FRAGMENT
    if end >= 0:
        spans.append((start, end))
    return spans


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    parts: list[str] = []
    kept_from = 0
    for start, end in spans:
        # A run matched through a form's own spaces ("Token <key>") keeps the spaces
        # around it, so the text still reads.
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        parts += [text[kept_from:start], MASK]
        kept_from = end
    parts.append(text[kept_from:])
    return "".join(parts)


def is_credential_name(name: str) -> bool:
    """Whether a header or query parameter called `name` carries a credential."""
    return bool(_CREDENTIAL_NAME.search(re.sub(r"[-_\s]", "", name.lower())))


def credentials_sent(
    headers: Iterable[tuple[str, str]],
    params: Iterable[tuple[str, str]],
    *,
    secret_params: Iterable[str] = (),
) -> list[str]:
    """The credentials one request carries: values of credential headers (a Basic value
    also as its token, the decoded `user:password`, the user and the password; any other
    scheme's value also without the scheme) and of credential query parameters, plus those
    of the parameters named in `secret_params`."""
    named = {name.lower() for name in secret_params}
    found: list[str] = []
    for name, value in headers:
        if not is_credential_name(name):
            continue
        found.append(value)
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        if not token:
            continue
        found.append(token)
        if scheme.lower() == "basic":
            found += _basic_parts(token)
    for name, value in params:
        if name.lower() in named or is_credential_name(name):
            found.append(value)
    return found


def _basic_parts(token: str) -> list[str]:
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return []
    user, _, password = decoded.partition(":")
    return [decoded, user, password]


secret_registry = SecretRegistry()
