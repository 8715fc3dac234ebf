"""Where Northstar is reached from outside, for the links it writes and the origins it trusts.

A request's `Host` header is chosen by whoever sends the request, so a link built from it can
point anywhere. Links start with the `public_base_url` setting; when that is unset, with the
request's own address only when its host is one of `trusted_hosts` (or the `host` Northstar
binds to), and otherwise links are relative (resolved by the client against the address it
used, which OData allows).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from app.settings import Settings

_WILDCARD_BINDS = {"", "0.0.0.0", "::"}  # noqa: S104 - names, not a bind


def is_trusted_host(request: Request, settings: Settings) -> bool:
    """Whether the host the request names is one this deployment vouches for."""
    trusted = {host.lower() for host in settings.trusted_hosts}
    if settings.host.lower() not in _WILDCARD_BINDS:
        trusted.add(settings.host.lower())
    return (request.url.hostname or "").lower() in trusted


def link_base(request: Request, settings: Settings) -> str:
    """What absolute links start with (no trailing slash); "" for relative links."""
    if settings.public_base_url:
        return settings.public_base_url
    if is_trusted_host(request, settings):
        return str(request.base_url).rstrip("/")
    root_path: str = request.scope.get("root_path", "")
    return root_path.rstrip("/")


def own_origins(request: Request, settings: Settings) -> set[str]:
    """The `host[:port]` values a same-site browser request names as its Origin: the host it
    addressed, and the public address (a reverse proxy may rewrite `Host`)."""
    origins = {request.headers.get("host", "").lower()}
    if settings.public_base_url:
        origins.add(urlsplit(settings.public_base_url).netloc.lower())
    origins.discard("")
    return origins
