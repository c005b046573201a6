"""Migrations: up, matching the models, down, and up again, on this run's database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import imgapp.models  # noqa: F401 - registers the tables
from imgapp.core import db, migrations


def _diff(url: str) -> list[object]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_matches_models_then_downgrade_and_upgrade_again(databases):
    url = databases.blank("migrations")
    try:
        migrations.upgrade(url)
        assert _tables(url) >= {"users", "user_sessions", "audit_logs"}
        assert _diff(url) == []
        migrations.downgrade(url, "base")
        assert _tables(url) == set()
        migrations.upgrade(url)
        assert _diff(url) == []
    finally:
        databases.drop(url)
