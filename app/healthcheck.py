"""`northstar healthcheck`: ask the service running on this machine whether it is healthy,
as Docker's HEALTHCHECK and uptime checks do, on the host and port from the settings."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from app.settings import Settings

# A service listening on every address is asked on the loopback one.
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def health_url(settings: Settings, port: int | None = None) -> str:
    host = _LOOPBACK.get(settings.host, settings.host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port or settings.port}/api/v1/health"


def check_health(settings: Settings, *, port: int | None, timeout: float) -> tuple[bool, str]:
    """(healthy, one line saying so or why not). Healthy: /api/v1/health answers 200."""
    url = health_url(settings, port)
    # Straight to the service: a proxy from the environment must not answer for it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            status = response.status
            body = response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(64 * 1024)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"Northstar does not answer at {url}: {reason}."
    try:
        document = json.loads(body)
    except ValueError:
        document = {}
    state = document.get("status", "?") if isinstance(document, dict) else "?"
    database = document.get("database", "?") if isinstance(document, dict) else "?"
    if status == 200:
        return True, f"Northstar at {url} is healthy (status {state}, database {database})."
    return False, f"Northstar at {url} answered {status} (status {state}, database {database})."
