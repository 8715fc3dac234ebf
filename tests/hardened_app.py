"""The app as served, with the request guards of issue 15 in place.

`create_app` installs them itself once it calls `install_auth_gate` and
`install_security_headers`; until then (and for an app built some other way) this helper
adds them, and both are no-ops on an app that has them already."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.api.auth_gate import install_auth_gate
from app.api.context import ServiceContext
from app.api.security_headers import install_security_headers
from app.api.throttle import FailedKeyThrottle
from app.main import create_app


def hardened_app(
    context: ServiceContext, *, failure_limit: int | None = None, **kw: Any
) -> FastAPI:
    """`create_app` for `context`, guards installed; `failure_limit` replaces the throttle's
    limit (a test that sends hundreds of wrong keys on purpose sets it high)."""
    app = create_app(context=context, run_scheduler=False, **kw)
    install_auth_gate(app)
    install_security_headers(app)
    if failure_limit is not None:
        app.state.key_throttle = FailedKeyThrottle(
            limit=failure_limit, window_seconds=context.settings.auth_failure_window_seconds
        )
    return app
