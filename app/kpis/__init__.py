"""The KPI catalogue, the KPI store (daily rollups) and the KPI API (docs/kpis.md §4)."""
