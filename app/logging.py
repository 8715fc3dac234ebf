"""Structured logging (structlog) for Northstar and the libraries it runs.

Every line goes through `redact`: values of secret-looking keys are masked, and any value
containing a registered secret (every decrypted PSA credential and every credential a
connector sends is registered) is masked in every form it can take (plain, URL-encoded,
escaped, base64, hex, or a long piece of one; see `connectors.sdk.redaction`). The rendered
line is scrubbed once more, so a secret inside an object only its `repr` shows, a traceback
or a library's message is masked too. Nothing is shortened before it is masked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from connectors.sdk.redaction import MASK, SecretRegistry
from connectors.sdk.redaction import secret_registry as secrets_registry

__all__ = [
    "MASK",
    "SECRET_KEY_PATTERN",
    "DropQueryStrings",
    "SecretRegistry",
    "configure_logging",
    "redact",
    "secrets_registry",
]

_HANDLER_NAME = "northstar"
SECRET_KEY_PATTERN = re.compile(
    r"(secret|password|passwd|private|token|authorization|api[_-]?key|client[_-]?id|"
    r"integration[_-]?code|encryption[_-]?key|cookie)",
    re.IGNORECASE,
)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return secrets_registry.scrub(value)
    if isinstance(value, dict):
        return {
            k: MASK if SECRET_KEY_PATTERN.search(str(k)) else _scrub(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    if isinstance(value, BaseException):
        return secrets_registry.scrub(repr(value))
    return value


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key != "event" and SECRET_KEY_PATTERN.search(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def _scrub_rendered(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Tracebacks are rendered into `exception` late; scrub the text once more.
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = secrets_registry.scrub(event_dict["exception"])
    return event_dict


class ScrubbedRenderer:
    """A renderer whose finished line is scrubbed: values that are neither text nor
    containers (URLs, headers, any object) reach the line through `repr`, past `redact`."""

    def __init__(self, renderer: Any) -> None:
        self._renderer = renderer

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        line = self._renderer(logger, method, event_dict)
        return secrets_registry.scrub(line) if isinstance(line, str) else line


# The last segment of a push receiver's path is the token the PSA was given.
_PUSH_TOKEN = re.compile(r"(/push/\d+/)[^/?]+")


class DropQueryStrings(logging.Filter):
    """Access-log lines keep the path and drop the query string: a BI tool may send its API
    key as `?api_key=` (Power BI can only send it that way). A push receiver's token is
    masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = _PUSH_TOKEN.sub(r"\1***", args[2].split("?", 1)[0])
            record.args = (*args[:2], path, *args[3:])
        return True


def configure_logging(*, log_format: str = "console", level: str = "INFO") -> None:
    """Route structlog and the standard library through one redacting pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _scrub_rendered,
            ScrubbedRenderer(renderer),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Configuring twice (CLI, then the app) replaces our handler instead of doubling lines.
    root.handlers = [h for h in root.handlers if h.get_name() != _HANDLER_NAME]
    root.addHandler(handler)
    root.setLevel(level.upper())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryStrings) for f in access.filters):
        access.addFilter(DropQueryStrings())
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
