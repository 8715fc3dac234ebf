"""Finding a tenant's Autotask zone (the REST host its database lives on).

`GET {lookup}?user=<API username>` needs no credentials and returns
`{"url": ".../ATServicesRest/"}`. The answer is cached per (lookup URL, username) for the
life of the process, because every run would otherwise spend a request on it; a 401
invalidates it once (a tenant's zone can move).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from connectors.sdk import ConfigError

# get_json(absolute_url, params) -> the parsed body; raises connectors.sdk errors.
GetJson = Callable[[str, dict[str, str]], Awaitable[Any]]


class AutotaskZoneResolver:
    """Resolves and caches the zone's REST root (ending with `/`)."""

    _cache: ClassVar[dict[tuple[str, str], str]] = {}

    def __init__(self, *, lookup_url: str, username: str, get_json: GetJson) -> None:
        self._lookup_url = lookup_url
        self._username = username
        self._get_json = get_json

    @property
    def _key(self) -> tuple[str, str]:
        return (self._lookup_url.lower(), self._username.lower())

    def cached(self) -> str | None:
        return self._cache.get(self._key)

    def invalidate(self) -> None:
        self._cache.pop(self._key, None)

    async def resolve(self) -> str:
        """The zone's REST root, from the cache or the lookup.

        Raises ConfigError when Autotask knows no such API user or answers without a URL.
        """
        if (url := self.cached()) is not None:
            return url
        body = await self._get_json(self._lookup_url, {"user": self._username})
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ConfigError(
                "Autotask's zone lookup did not name a zone for this API username; "
                "check the username (it is the API user's e-mail address).",
                code="autotask_zone_unknown",
            )
        url = url if url.endswith("/") else url + "/"
        self._cache[self._key] = url
        return url
