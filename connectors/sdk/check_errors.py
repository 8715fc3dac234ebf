"""Why a source check failed, in the owner's words: what happened, at which host, and which
of the source's settings to fix.

A vendor package declares its wording as data, a `CheckWording` of rules matched against
what its PSA answered (`Answered`), which request got no answer (`Unreachable`) or which of
its own errors was raised (`Raised`), and runs its check inside `wording.explained(...)`:
whatever the check raises comes out as one `SourceCheckFailed`. The SDK knows the kinds of
failure, how to tell them apart from httpx's exceptions (`connectors.sdk.network_failures`)
and how to say each one; a vendor table says only which setting each points at.

The PSA's own words are kept, masked and shortened, after Northstar's: they help support,
but the owner should not need them to know what to fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from connectors.sdk.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FatalError,
    TransientError,
)
from connectors.sdk.http import vendor_message
from connectors.sdk.network_failures import CheckFailure, causes, network_failure
from connectors.sdk.redaction import secret_registry

__all__ = [
    "Advice",
    "Answered",
    "CheckFailure",
    "CheckWording",
    "Raised",
    "SourceCheckFailed",
    "Unreachable",
    "failed_check",
]

# The failures that mean the PSA (or the server at the address) turned the settings down:
# the same settings will fail the same way, so a person must change them.
REFUSALS = frozenset(
    {
        CheckFailure.UNAUTHORIZED,
        CheckFailure.FORBIDDEN,
        CheckFailure.UNKNOWN_ACCOUNT,
        CheckFailure.NOT_FOUND,
    }
)

# Stable codes, shown with the message and kept on the source.
FAILURE_CODES: Mapping[CheckFailure, str] = {
    CheckFailure.DNS: "psa_host_not_found",
    CheckFailure.REFUSED: "psa_connection_refused",
    CheckFailure.TLS: "psa_certificate_untrusted",
    CheckFailure.TIMEOUT: "psa_timeout",
    CheckFailure.UNREACHABLE: "psa_unreachable",
    CheckFailure.UNAUTHORIZED: "psa_auth_failed",
    CheckFailure.FORBIDDEN: "psa_access_denied",
    CheckFailure.UNKNOWN_ACCOUNT: "psa_account_unknown",
    CheckFailure.NOT_FOUND: "psa_not_found",
    CheckFailure.UNAVAILABLE: "psa_unavailable",
    CheckFailure.UNEXPECTED: "psa_unexpected_response",
}

# What happened, per kind. Fields: {vendor}, {host}, {port}, {detail}, {http} (" (HTTP 401)"
# or nothing).
WHAT_HAPPENED: Mapping[CheckFailure, str] = {
    CheckFailure.DNS: "The host name {host} does not resolve: {detail}.",
    CheckFailure.REFUSED: "{host} refused the connection: nothing answers there on port {port}.",
    CheckFailure.TLS: "The secure connection to {host} failed: {detail}.",
    CheckFailure.TIMEOUT: "{host} did not answer in time: {detail}.",
    CheckFailure.UNREACHABLE: "Northstar could not reach {host} ({detail}).",
    CheckFailure.UNAUTHORIZED: "{vendor} at {host} refused the credentials{http}.",
    CheckFailure.FORBIDDEN: "{vendor} at {host} accepted the credentials but refused access{http}.",
    CheckFailure.UNKNOWN_ACCOUNT: "{vendor} at {host} does not know this account{http}.",
    CheckFailure.NOT_FOUND: "{host} has no {vendor} API at this address{http}.",
    CheckFailure.UNAVAILABLE: "{vendor} at {host} is not available right now{http}.",
    CheckFailure.UNEXPECTED: "{vendor} at {host} answered in a way Northstar did not expect{http}.",
}

# What else to look at when the address is right but the network is in the way.
NETWORK_HINTS: Mapping[CheckFailure, str] = {
    CheckFailure.DNS: "If it is spelled right, this server's DNS cannot look it up.",
    CheckFailure.REFUSED: "If it is right, the server is down or a firewall turns Northstar away.",
    CheckFailure.TLS: "Northstar accepts only certificates from a public authority, issued for "
    "the host name it connects to; if a proxy inspects TLS traffic, exempt this host.",
    CheckFailure.TIMEOUT: "If it is right, a firewall or proxy may be dropping the connection, "
    "or the server is overloaded; try the check again in a few minutes.",
    CheckFailure.UNREACHABLE: "If it is right, check this server's network and proxy settings.",
}


@dataclass(frozen=True, slots=True)
class Advice:
    """What to tell the owner: the settings to fix (named as in the source's config, or as
    `{placeholders}` the connector fills in, e.g. `{address}`), how, and optionally what
    happened when the SDK's sentence for the kind says too little (same fields)."""

    settings: tuple[str, ...]
    fix: str
    what: str | None = None


@dataclass(frozen=True, slots=True)
class Answered:
    """A rule for an HTTP answer. It matches when the status is one of `status`, the
    request's path contains `path` and the body contains one of `says` (case-insensitive;
    empty: anything). `failure` None: the kind follows from the status."""

    status: tuple[int, ...]
    advice: Advice
    failure: CheckFailure | None = None
    path: str = ""
    says: tuple[str, ...] = ()

    def matches(self, response: httpx.Response) -> bool:
        if response.status_code not in self.status:
            return False
        if self.path.lower() not in response.request.url.path.lower():
            return False
        text = response.text[:4000].lower()
        return not self.says or any(piece.lower() in text for piece in self.says)


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A rule for a request that got no answer at all (DNS, refused, TLS, timeout): the
    setting that holds the address of requests whose path contains `path`."""

    advice: Advice
    path: str = ""


@dataclass(frozen=True, slots=True)
class Raised:
    """A rule for an error the vendor package raises itself, by its `code`."""

    code: str
    failure: CheckFailure
    advice: Advice


class SourceCheckFailed(ConnectorError):
    """A check that failed, explained: `failure` (the kind), `host` (the one tried),
    `settings` (to fix, as named in the source's config) and `psa_said` (the PSA's own
    words, masked; None when it said nothing). The message says all of it in sentences.

    Raised as one of the subclasses below, so it is also the AuthError, ConfigError,
    TransientError or FatalError the contract promises (`failed_check` picks it)."""

    def __init__(
        self,
        message: str,
        *,
        failure: CheckFailure,
        host: str,
        settings: tuple[str, ...] = (),
        psa_said: str | None = None,
    ) -> None:
        super().__init__(message, code=FAILURE_CODES[failure])
        self.failure = failure
        self.host = host
        self.settings = settings
        self.psa_said = secret_registry.scrub(psa_said) if psa_said else None

    @property
    def refused(self) -> bool:
        """The PSA turned the settings down: only a person changing them can help."""
        return self.failure in REFUSALS


class CredentialsRefused(SourceCheckFailed, AuthError):
    """The credentials were refused, or accepted without the access the check needs."""


class SettingsRefused(SourceCheckFailed, ConfigError):
    """The PSA knows no such account, or there is no PSA API at the address."""


class PsaUnreachable(SourceCheckFailed, TransientError):
    """No answer (DNS, refused, TLS, timeout), or the PSA is busy or failing."""


class UnexpectedAnswer(SourceCheckFailed, FatalError):
    """An answer that fits no other kind."""


_FAILURE_CLASSES: Mapping[CheckFailure, type[SourceCheckFailed]] = {
    CheckFailure.UNAUTHORIZED: CredentialsRefused,
    CheckFailure.FORBIDDEN: CredentialsRefused,
    CheckFailure.UNKNOWN_ACCOUNT: SettingsRefused,
    CheckFailure.NOT_FOUND: SettingsRefused,
    CheckFailure.UNEXPECTED: UnexpectedAnswer,
}


def failed_check(
    message: str,
    *,
    failure: CheckFailure,
    host: str,
    settings: tuple[str, ...] = (),
    psa_said: str | None = None,
) -> SourceCheckFailed:
    """The `SourceCheckFailed` of the error class that fits `failure`."""
    cls = _FAILURE_CLASSES.get(failure, PsaUnreachable)
    return cls(message, failure=failure, host=host, settings=settings, psa_said=psa_said)


GENERIC_ADVICE = Advice(
    settings=(), fix="check the source's settings against what your PSA shows for this API user"
)


def _status_failure(status: int) -> CheckFailure:
    if status == 401:
        return CheckFailure.UNAUTHORIZED
    if status == 403:
        return CheckFailure.FORBIDDEN
    if status == 404:
        return CheckFailure.NOT_FOUND
    if status in (408, 429) or status >= 500:
        return CheckFailure.UNAVAILABLE
    return CheckFailure.UNEXPECTED


def _error_failure(exc: ConnectorError) -> CheckFailure:
    if isinstance(exc, AuthError):
        return CheckFailure.UNAUTHORIZED
    if isinstance(exc, TransientError):
        return CheckFailure.UNAVAILABLE
    return CheckFailure.UNEXPECTED


def _settings_phrase(settings: tuple[str, ...]) -> str:
    named = [f"`{name}`" for name in settings]
    if len(named) == 1:
        return f"the setting {named[0]}"
    return f"the settings {', '.join(named[:-1])} and {named[-1]}"


@dataclass(frozen=True, slots=True)
class CheckWording:
    """One vendor's check wording. Rules are tried in order; the first that matches wins.
    `otherwise` is the advice for answers and errors no rule explains."""

    vendor: str
    unreachable: tuple[Unreachable, ...] = ()
    answered: tuple[Answered, ...] = ()
    raised: tuple[Raised, ...] = ()
    otherwise: Advice = GENERIC_ADVICE

    @contextmanager
    def explained(self, *, host: str, names: Mapping[str, str] | None = None) -> Iterator[None]:
        """Run a check in this block: a ConnectorError raised in it leaves it as a
        `SourceCheckFailed`. `host` is named when the error says no host of its own;
        `names` fills the `{placeholders}` of the rules' settings and wording."""
        try:
            yield
        except SourceCheckFailed:
            raise
        except ConnectorError as exc:
            raise self.explain(exc, host=host, names=names or {}) from exc

    def explain(
        self, exc: ConnectorError, *, host: str, names: Mapping[str, str]
    ) -> SourceCheckFailed:
        """`exc` in the owner's words (see the module docstring for the order of rules)."""
        chain = list(causes(exc))
        answer = next((c.response for c in chain if isinstance(c, httpx.HTTPStatusError)), None)
        psa_said = vendor_message(answer) if answer is not None else None
        status = answer.status_code if answer is not None else None
        if answer is not None:
            host = answer.request.url.host or host
        for rule in self.raised:
            if exc.code == rule.code:
                return self._failed(rule.failure, rule.advice, host, names, psa_said, status)
        if answer is not None and status is not None:
            for answered in self.answered:
                if answered.matches(answer):
                    kind = answered.failure or _status_failure(status)
                    return self._failed(kind, answered.advice, host, names, psa_said, status)
            return self._failed(
                _status_failure(status), self.otherwise, host, names, psa_said, status
            )
        unanswered = next((c for c in chain if isinstance(c, httpx.TransportError)), None)
        if unanswered is not None:
            return self._unreachable(unanswered, host, names)
        # Nothing but the connector's own words (an answer it could not use, say): they
        # say what happened.
        return self._failed(_error_failure(exc), self.otherwise, host, names, what=exc.message)

    def _unreachable(
        self, exc: httpx.TransportError, host: str, names: Mapping[str, str]
    ) -> SourceCheckFailed:
        kind, detail = network_failure(exc)
        try:
            url: httpx.URL | None = exc.request.url
        except RuntimeError:
            url = None
        path = url.path.lower() if url is not None else ""
        rule = next((r for r in self.unreachable if r.path.lower() in path), None)
        advice = rule.advice if rule is not None else self.otherwise
        port = (url.port or (443 if url.scheme == "https" else 80)) if url is not None else 443
        host = (url.host if url is not None else "") or host
        return self._failed(kind, advice, host, names, detail=detail, port=port)

    def _failed(
        self,
        kind: CheckFailure,
        advice: Advice,
        host: str,
        names: Mapping[str, str],
        psa_said: str | None = None,
        status: int | None = None,
        *,
        detail: str = "",
        port: int = 443,
        what: str | None = None,
    ) -> SourceCheckFailed:
        fields = _Fields(
            names,
            vendor=self.vendor,
            host=host,
            port=port,
            detail=detail,
            http=f" (HTTP {status})" if status is not None else "",
        )
        if what is None:
            what = (advice.what or WHAT_HAPPENED[kind]).format_map(fields)
        settings = tuple(name.format_map(_Fields(names)) for name in advice.settings)
        fix = advice.fix.format_map(fields)
        sentences = [what]
        if settings:
            sentences.append(f"Check {_settings_phrase(settings)}: {fix}.")
        else:
            sentences.append(fix[:1].upper() + fix[1:] + ".")
        if kind in NETWORK_HINTS:
            sentences.append(NETWORK_HINTS[kind])
        if psa_said:
            sentences.append(f"({self.vendor} said: {psa_said})")
        message = " ".join(sentences)
        return failed_check(message, failure=kind, host=host, settings=settings, psa_said=psa_said)


class _Fields(dict[str, object]):
    """Wording fields; a `{placeholder}` nobody filled in is left as it is."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def generic_wording(vendor: str) -> CheckWording:
    """The wording for a connector that declares none: every kind is told apart, but the
    advice cannot name a setting."""
    return CheckWording(vendor=vendor)
