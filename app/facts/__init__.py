"""Canonical fact tables (KPIS.md §2) and their upserts."""
