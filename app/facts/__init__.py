"""Canonical fact tables (docs/kpis.md §2) and their upserts."""
