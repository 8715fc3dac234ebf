"""Connectors are found through the `northstar.connectors` entry points.

Each plugin loads on its own: one that fails to import is logged and skipped, never taking
the service down. Tests replace the whole set with `registry.override({...})`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import entry_points

import structlog

from connectors.sdk import Connector

ENTRY_POINT_GROUP = "northstar.connectors"
log = structlog.get_logger(__name__)


class ConnectorRegistry:
    def __init__(self) -> None:
        self._loaded: dict[str, type[Connector]] | None = None
        self.failures: dict[str, str] = {}

    def _load(self) -> dict[str, type[Connector]]:
        found: dict[str, type[Connector]] = {}
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                connector = entry.load()
            except Exception as exc:
                self.failures[entry.name] = f"{type(exc).__name__}: {exc}"
                log.warning("connector_plugin_failed", plugin=entry.name, error=str(exc))
                continue
            if getattr(connector, "kind", None) != entry.name:
                self.failures[entry.name] = "its `kind` does not match the entry-point name"
                log.warning("connector_plugin_mismatch", plugin=entry.name)
                continue
            found[entry.name] = connector
        return found

    def all(self) -> Mapping[str, type[Connector]]:
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def get(self, kind: str) -> type[Connector] | None:
        return self.all().get(kind)

    @contextmanager
    def override(self, connectors: Mapping[str, type[Connector]]) -> Iterator[None]:
        """Use exactly `connectors` inside the block (tests)."""
        saved = self._loaded
        self._loaded = dict(connectors)
        try:
            yield
        finally:
            self._loaded = saved


registry = ConnectorRegistry()
