"""Configured PSA connections: model, service, router."""
