"""Migrations: upgrade to head, downgrade to base, and the models match the migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.models import metadata

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def test_head_matches_the_models_and_downgrade_reaches_base(database_url: str) -> None:
    config = alembic_config(database_url)
    engine = create_engine(database_url)
    try:
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        command.upgrade(config, "head")
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_every_fact_table_is_unique_on_source_and_external_id() -> None:
    for name in (
        "clients",
        "technicians",
        "tickets",
        "time_entries",
        "recurring_revenues",
        "survey_responses",
    ):
        uniques = [
            tuple(c.name for c in constraint.columns)
            for constraint in metadata.tables[name].constraints
            if constraint.__class__.__name__ == "UniqueConstraint"
        ]
        assert ("source_id", "external_id") in uniques, name
