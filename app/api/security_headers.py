"""Security headers on every response: no framing, no sniffing, no referrer to other sites,
and a Content-Security-Policy that lets a page run nothing it did not bring itself.

Northstar's own pages (the scorecard, the sign-in form, the quarterly review) use no script
and one inline stylesheet each; their policy allows exactly those stylesheets, by hash, and
forms that post back to Northstar. Other responses (JSON, CSV, XML) get a policy that allows
nothing. The API docs page is FastAPI's Swagger UI: its inline script is allowed by the hash
of the script the page actually carries, and its assets from where FastAPI loads them.

`install_security_headers(app)` adds `SecurityHeadersMiddleware` (once).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.goals.review_render import STYLE as REVIEW_STYLE
from app.web.render import STYLE as SCORECARD_STYLE

# Swagger UI's assets are served by Northstar itself (app.api.docs_page).
SWAGGER_ASSETS = "'self'"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def csp_hash(text: str | bytes) -> str:
    """A CSP source expression allowing the inline element whose content is `text`."""
    data = text.encode() if isinstance(text, str) else text
    return "'sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode() + "'"


def page_policy(inline_styles: Iterable[str]) -> str:
    styles = " ".join(csp_hash(style) for style in inline_styles)
    return (
        f"default-src 'none'; style-src {styles}; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


PAGE_POLICY = page_policy([SCORECARD_STYLE, REVIEW_STYLE])
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # `same-origin`, not `no-referrer`: a same-origin form post must keep its Origin header
    # (the sign-in form's CSRF check), which `no-referrer` would turn into `null`.
    "Referrer-Policy": "same-origin",
}


def docs_policy(html: bytes) -> str:
    scripts = " ".join(csp_hash(script) for script in _INLINE_SCRIPT.findall(html))
    return (
        f"default-src 'none'; script-src {SWAGGER_ASSETS} {scripts}; "
        f"style-src {SWAGGER_ASSETS} 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _is_html(headers: MutableHeaders) -> bool:
    return headers.get("content-type", "").startswith("text/html")


def _add_headers(message: Message, policy: str | None) -> None:
    headers = MutableHeaders(scope=message)
    for name, value in ALWAYS.items():
        headers.setdefault(name, value)
    html = _is_html(headers)
    if "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = policy or (PAGE_POLICY if html else DATA_POLICY)
    if html:
        # A scorecard is the business's numbers: not for shared caches or the back button
        # after signing out.
        headers.setdefault("Cache-Control", "no-store")


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response; a response's own CSP is kept."""

    def __init__(self, app: ASGIApp, *, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(message, None)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The docs page is small and made by FastAPI: held back whole, so that its policy
        can name the hash of the script it carries."""
        start: Message | None = None
        body = bytearray()

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            _add_headers(start, docs_policy(bytes(body)))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body)})

        await self.app(scope, receive, hold)


def install_security_headers(app: FastAPI) -> None:
    """Add `SecurityHeadersMiddleware` to `app` (once)."""
    if getattr(app.state, "security_headers_installed", False):
        return
    docs = list(getattr(app.state, "docs_paths", ()))
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs)
    app.state.security_headers_installed = True
