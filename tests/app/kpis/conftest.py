from __future__ import annotations

from typing import Any

import pytest
from kpi_world import FACTS, NY

from app.kpis.dirty import store_facts
from app.kpis.rollup import refresh_dirty_days


@pytest.fixture
def kpi_source(api: Any) -> Any:
    """The hand-made facts stored through the sync path (facts + dirty days + refresh),
    served with New York as the reporting time zone."""
    context = api.setup.context
    context.settings = context.settings.model_copy(
        update={"reporting_timezone": "America/New_York"}
    )
    context.runner.settings = context.settings
    with context.db.session() as session:
        store_facts(session, api.setup.source_id, FACTS, NY)
        refresh_dirty_days(session, api.setup.source_id, NY)
    return api
