"""Autotask PSA connector (entry point `autotask`) and its built-in simulator.

Modules: `config` (settings), `zone` (zone discovery), `api` (auth, errors, limits),
`query` (filters, datetimes), `streams` (stream declarations), `picklists` (labels),
`reader` (passes and cursors), `ranges` (parallel id ranges), `enrich` (what a page needs
from other entities), `related` (batched queries for related rows), `related_windows`
(related rows read ahead by parent-id range), `directory`
(per-source ticket/contract lookups), `fields` (reading a record's fields), `normalize`
(pure facts), `revenue` (contract amounts), `connector` (the SDK contract), and the
`simulator` package (a fake Autotask over a sandbox world).

The runner should build a source's HTTP limits once with
`AutotaskConnector.http_limits(config)` and share them between that source's runs.
"""

from connectors.autotask.config import AutotaskConfig
from connectors.autotask.connector import AutotaskConnector

__all__ = ["AutotaskConfig", "AutotaskConnector"]
