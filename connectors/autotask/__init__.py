"""Autotask PSA connector (entry point `autotask`) and its built-in simulator.

Modules: `config` (settings), `zone` (zone discovery), `api` (auth, errors, limits),
`query` (filters, datetimes), `streams` (stream declarations), `picklists` (labels),
`reader` (passes and cursors), `ranges` (parallel id ranges), `enrich` (related rows per
page), `directory` (per-source ticket/contract lookups), `normalize` (pure facts),
`connector` (the SDK contract), and the simulator: `simulator` (the ASGI app and its
limits), `simulator_schema` (entities, fields, picklists), `simulator_render` (the sandbox
world in Autotask's shapes), `simulator_query` (filters over rows).

The runner should build a source's HTTP limits once with
`AutotaskConnector.http_limits(config)` and share them between that source's runs.
"""

from connectors.autotask.config import AutotaskConfig
from connectors.autotask.connector import AutotaskConnector

__all__ = ["AutotaskConfig", "AutotaskConnector"]
