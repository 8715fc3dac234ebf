"""The entity sets of the feed, declared as data (see `model.py`), gathered from the
modules of each group: the KPI store, the facts and directory, the goals."""

from __future__ import annotations

from app.bi.odata.model import NAMESPACE, EntitySet, Nav, Prop, Reading
from app.bi.odata.sets_facts import fact_sets
from app.bi.odata.sets_goals import goal_sets
from app.bi.odata.sets_kpis import KPI_VALUE_SETS, KPIS
from app.bi.odata.sets_rollups import RATIO_NAMES, rollup_sets

__all__ = ["ENTITY_SETS", "NAMESPACE", "RATIO_NAMES", "EntitySet", "Nav", "Prop", "Reading"]


def _build() -> dict[str, EntitySet]:
    sets = [*rollup_sets(), *KPI_VALUE_SETS, KPIS, *fact_sets(), *goal_sets()]
    found = {s.name: s for s in sets}
    for entity_set in sets:  # every navigation property leads somewhere real
        for nav in entity_set.navs:
            target = found[nav.target]
            assert entity_set.prop(nav.local) and target.prop(nav.remote), (entity_set.name, nav)
    return found


ENTITY_SETS: dict[str, EntitySet] = _build()
