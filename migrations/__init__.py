"""Alembic migrations, shipped as a package so an installed Northstar can migrate itself."""
