"""Feeds for the BI tools MSPs already use: Prometheus `/metrics` and PostgreSQL views."""
