"""The KPI catalogue, the KPI store (daily rollups) and the KPI API (KPIS.md §4)."""
