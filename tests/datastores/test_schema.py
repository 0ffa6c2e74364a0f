"""Migration 0002 creates what store/schema.py declares for data stores, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from relayflow.store.database import Database
from relayflow.store.schema import metadata


def test_migration_matches_the_data_store_schema(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()
    engine = create_engine(db.sqlalchemy_url())
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert [d for d in diff if "data_store_entries" in repr(d)] == []
