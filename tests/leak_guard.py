"""Guards against credentials leaking: the known test credentials, a log collector that
sees every log line of the run, and an API client that checks every response body."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.testclient import TestClient

# Every credential value any test hands to a source. The last test of the run checks that
# none of them ever reached a log line, and the API client checks every response body.
KNOWN_SECRETS: set[str] = {"fake-psa-token-7f3a9c", "rotated-fake-psa-token-21b8e4"}


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
    """A TestClient that fails the test if a response ever carries a known credential."""

    def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().request(*args, **kwargs)
        for secret in KNOWN_SECRETS:
            assert secret not in response.text, "a credential leaked into an API response"
        return response
